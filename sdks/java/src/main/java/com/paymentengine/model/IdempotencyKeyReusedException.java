package com.paymentengine.model;

/** 422 IDEMPOTENCY_KEY_REUSED: the key was already used with a different request. */
public class IdempotencyKeyReusedException extends UnprocessableException {
    private static final long serialVersionUID = 1L;

    public IdempotencyKeyReusedException(ErrorInfo info) {
        super(info);
    }

    public IdempotencyKeyReusedException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
