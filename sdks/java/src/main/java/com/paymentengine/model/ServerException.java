package com.paymentengine.model;

/** A 5xx answer. */
public class ServerException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public ServerException(ErrorInfo info) {
        super(info);
    }

    public ServerException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
