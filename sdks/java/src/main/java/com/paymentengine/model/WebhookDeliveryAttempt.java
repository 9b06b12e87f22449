package com.paymentengine.model;

import java.time.Instant;
import java.util.Map;

/** One HTTP attempt of a webhook delivery. */
public final class WebhookDeliveryAttempt {
    private final int attemptNumber;
    private final Instant attemptedAt;
    private final int statusCode;
    private final boolean succeeded;
    private final int latencyMs;
    private final String error;
    private final String responseBody;

    private WebhookDeliveryAttempt(Fields f) {
        this.attemptNumber = f.integerOr("attemptNumber", 0);
        this.attemptedAt = f.instant("attemptedAt");
        this.statusCode = f.integerOr("statusCode", 0);
        this.succeeded = Boolean.TRUE.equals(f.bool("succeeded"));
        this.latencyMs = f.integerOr("latencyMs", 0);
        this.error = f.string("error");
        this.responseBody = f.string("responseBody");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static WebhookDeliveryAttempt fromJson(Map<String, ?> json) {
        return new WebhookDeliveryAttempt(Fields.of(json, "WebhookDeliveryAttempt"));
    }

    public int getAttemptNumber() {
        return attemptNumber;
    }

    public Instant getAttemptedAt() {
        return attemptedAt;
    }

    public int getStatusCode() {
        return statusCode;
    }

    public boolean isSucceeded() {
        return succeeded;
    }

    public int getLatencyMs() {
        return latencyMs;
    }

    public String getError() {
        return error;
    }

    public String getResponseBody() {
        return responseBody;
    }


    @Override
    public String toString() {
        return "WebhookDeliveryAttempt{"
                + "attemptNumber=" + attemptNumber
                + ", attemptedAt=" + attemptedAt
                + ", statusCode=" + statusCode
                + ", succeeded=" + succeeded
                + ", latencyMs=" + latencyMs
                + ", error=" + error
                + ", responseBody=" + responseBody
                + "}";
    }
}
