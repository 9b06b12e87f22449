package com.paymentengine.model;

import java.util.Map;

/** Why one payment of a batch was refused: the guide's code, message and details. */
public final class BatchItemError {
    private final String code;
    private final String message;
    private final Map<String, Object> details;

    private BatchItemError(Fields f) {
        this.code = f.string("code");
        this.message = f.string("message");
        this.details = f.map("details");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static BatchItemError fromJson(Map<String, ?> json) {
        return new BatchItemError(Fields.of(json, "BatchItemError"));
    }

    public String getCode() {
        return code;
    }

    public String getMessage() {
        return message;
    }

    public Map<String, Object> getDetails() {
        return details;
    }


    @Override
    public String toString() {
        return "BatchItemError{"
                + "code=" + code
                + ", message=" + message
                + ", details=" + details
                + "}";
    }
}
