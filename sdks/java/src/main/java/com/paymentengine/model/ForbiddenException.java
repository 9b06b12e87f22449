package com.paymentengine.model;

/** 403 FORBIDDEN: the credentials lack the scope this call needs. */
public class ForbiddenException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public ForbiddenException(ErrorInfo info) {
        super(info);
    }

    public ForbiddenException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
