package com.paymentengine.model;

/** {@code transactions().waitForCompletion} gave up before the payment reached a final status (code WAIT_TIMEOUT). */
public class WaitTimeoutException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    private final transient TransactionStatus lastStatus;

    public WaitTimeoutException(String message, TransactionStatus lastStatus) {
        super(ErrorInfo.local(message, "WAIT_TIMEOUT", null));
        this.lastStatus = lastStatus;
    }

    /** The last status read. */
    public TransactionStatus getLastStatus() {
        return lastStatus;
    }
}
