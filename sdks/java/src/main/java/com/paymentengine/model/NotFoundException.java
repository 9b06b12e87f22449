package com.paymentengine.model;

/** 404 NOT_FOUND: no such resource (or it belongs to another tenant). */
public class NotFoundException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(ErrorInfo info) {
        super(info);
    }

    public NotFoundException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
