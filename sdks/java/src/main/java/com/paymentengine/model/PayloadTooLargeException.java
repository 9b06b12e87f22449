package com.paymentengine.model;

/** 413 PAYLOAD_TOO_LARGE. */
public class PayloadTooLargeException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public PayloadTooLargeException(ErrorInfo info) {
        super(info);
    }

    public PayloadTooLargeException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
