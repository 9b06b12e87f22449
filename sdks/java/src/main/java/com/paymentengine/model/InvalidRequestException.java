package com.paymentengine.model;

/** 400 INVALID_REQUEST: fix the request; {@code getDetails().get("field")} names the culprit. */
public class InvalidRequestException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public InvalidRequestException(ErrorInfo info) {
        super(info);
    }

    public InvalidRequestException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
