package com.paymentengine.model;

/**
 * The answer is not what the API sends: a body that is not JSON (a proxy's HTML or text error
 * page), or JSON without a field this SDK needs (code INVALID_RESPONSE). {@link #getStatus()} is
 * the HTTP status and {@link #getBody()} the start of the body.
 */
public class InvalidResponseException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public InvalidResponseException(ErrorInfo info) {
        super(info);
    }

    public InvalidResponseException(String message, Integer status, String requestId, String body) {
        super(new ErrorInfo(message, "INVALID_RESPONSE", status == null ? 0 : status, null, requestId, null,
                null, null, body));
    }
}
