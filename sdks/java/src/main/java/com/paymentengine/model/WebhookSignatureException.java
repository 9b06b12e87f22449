package com.paymentengine.model;

/** A webhook's signature does not match its body and the endpoint's secret (code INVALID_SIGNATURE). */
public class WebhookSignatureException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public WebhookSignatureException(ErrorInfo info) {
        super(info);
    }

    public WebhookSignatureException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
