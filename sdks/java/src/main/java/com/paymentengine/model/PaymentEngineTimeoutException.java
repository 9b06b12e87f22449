package com.paymentengine.model;

/** The call's deadline passed before a whole answer arrived (code TIMEOUT). */
public class PaymentEngineTimeoutException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public PaymentEngineTimeoutException(ErrorInfo info) {
        super(info);
    }

    public PaymentEngineTimeoutException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
