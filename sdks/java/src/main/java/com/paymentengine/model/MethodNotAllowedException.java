package com.paymentengine.model;

/** 405 METHOD_NOT_ALLOWED. */
public class MethodNotAllowedException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public MethodNotAllowedException(ErrorInfo info) {
        super(info);
    }

    public MethodNotAllowedException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
