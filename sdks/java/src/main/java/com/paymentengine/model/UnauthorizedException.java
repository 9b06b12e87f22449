package com.paymentengine.model;

/** 401 UNAUTHORIZED: missing, wrong, expired or revoked credentials. */
public class UnauthorizedException extends PaymentEngineException {
    private static final long serialVersionUID = 1L;

    public UnauthorizedException(ErrorInfo info) {
        super(info);
    }

    public UnauthorizedException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
