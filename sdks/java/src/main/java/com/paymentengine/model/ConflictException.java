package com.paymentengine.model;

/** 409 CONFLICT: the resource already exists or changed meanwhile. */
public class ConflictException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public ConflictException(ErrorInfo info) {
        super(info);
    }

    public ConflictException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
