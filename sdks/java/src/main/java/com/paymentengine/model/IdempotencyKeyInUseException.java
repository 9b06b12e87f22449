package com.paymentengine.model;

/** 409 IDEMPOTENCY_KEY_IN_USE: a request with the same key is still in flight (retried by the client until its retries are spent). */
public class IdempotencyKeyInUseException extends ConflictException {
    private static final long serialVersionUID = 1L;

    public IdempotencyKeyInUseException(ErrorInfo info) {
        super(info);
    }

    public IdempotencyKeyInUseException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
