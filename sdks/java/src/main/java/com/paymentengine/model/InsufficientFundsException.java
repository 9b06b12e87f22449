package com.paymentengine.model;

/** 422 INSUFFICIENT_FUNDS: details carry accountId, requestedAmount, availableBalance. */
public class InsufficientFundsException extends UnprocessableException {
    private static final long serialVersionUID = 1L;

    public InsufficientFundsException(ErrorInfo info) {
        super(info);
    }

    public InsufficientFundsException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
