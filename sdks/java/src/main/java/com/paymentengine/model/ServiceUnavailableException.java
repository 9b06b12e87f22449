package com.paymentengine.model;

/** 503 SERVICE_UNAVAILABLE. */
public class ServiceUnavailableException extends ServerException {
    private static final long serialVersionUID = 1L;

    public ServiceUnavailableException(ErrorInfo info) {
        super(info);
    }

    public ServiceUnavailableException(ErrorInfo info, Throwable cause) {
        super(info, cause);
    }
}
