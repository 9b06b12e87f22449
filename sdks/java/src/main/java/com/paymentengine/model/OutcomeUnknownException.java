package com.paymentengine.model;

/**
 * A POST was sent but no answer arrived (deadline passed, connection reset) and the retries are
 * spent or were not allowed: the engine may or may not have acted on it (code OUTCOME_UNKNOWN).
 * Send the same request again with {@link #getIdempotencyKey()}: the engine answers a repeat of
 * a payment with the first outcome instead of paying twice. The cause is the last failure.
 */
public class OutcomeUnknownException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public OutcomeUnknownException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
