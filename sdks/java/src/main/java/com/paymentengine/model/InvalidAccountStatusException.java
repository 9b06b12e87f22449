package com.paymentengine.model;

/** 422 INVALID_ACCOUNT_STATUS: an account of the payment is frozen or closed. */
public class InvalidAccountStatusException extends UnprocessableException {
    private static final long serialVersionUID = 1L;

    public InvalidAccountStatusException(ErrorInfo info) {
        super(info);
    }

    public InvalidAccountStatusException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
