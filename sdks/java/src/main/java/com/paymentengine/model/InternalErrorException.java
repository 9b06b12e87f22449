package com.paymentengine.model;

/** 500 INTERNAL_ERROR. */
public class InternalErrorException extends ServerException {
    private static final long serialVersionUID = 1L;

    public InternalErrorException(ErrorInfo info) {
        super(info);
    }

    public InternalErrorException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
