package com.paymentengine.model;

/** No answer: connection refused or reset, DNS, TLS (code CONNECTION_ERROR). */
public class ConnectionException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public ConnectionException(ErrorInfo info) {
        super(info);
    }

    public ConnectionException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
