package com.paymentengine.model;

/** 429 RATE_LIMIT_EXCEEDED: retried by the client (honouring Retry-After) until its retries are spent. */
public class RateLimitExceededException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public RateLimitExceededException(ErrorInfo info) {
        super(info);
    }

    public RateLimitExceededException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
