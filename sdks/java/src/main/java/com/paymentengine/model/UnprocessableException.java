package com.paymentengine.model;

/** 422: well formed, but the engine refuses it (the subclasses say why). */
public class UnprocessableException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public UnprocessableException(ErrorInfo info) {
        super(info);
    }

    public UnprocessableException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
