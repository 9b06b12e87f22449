package com.paymentengine.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Where the engine delivers events. {@code getSecret()} is the signing secret ({@code whsec_…}). */
public final class WebhookEndpoint {
    private final String id;
    private final String url;
    private final String description;
    private final List<String> eventTypes;
    private final String status;
    private final String secret;
    private final int consecutiveFailures;
    private final Instant failingSince;
    private final Instant disabledAt;
    private final String disabledReason;
    private final Instant previousSecretExpiresAt;
    private final Instant createdAt;
    private final Instant updatedAt;

    private WebhookEndpoint(Fields f) {
        this.id = f.string("id");
        this.url = f.string("url");
        this.description = f.string("description");
        this.eventTypes = f.strings("eventTypes");
        this.status = f.string("status");
        this.secret = f.string("secret");
        this.consecutiveFailures = f.integerOr("consecutiveFailures", 0);
        this.failingSince = f.instant("failingSince");
        this.disabledAt = f.instant("disabledAt");
        this.disabledReason = f.string("disabledReason");
        this.previousSecretExpiresAt = f.instant("previousSecretExpiresAt");
        this.createdAt = f.instant("createdAt");
        this.updatedAt = f.instant("updatedAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static WebhookEndpoint fromJson(Map<String, ?> json) {
        return new WebhookEndpoint(Fields.of(json, "WebhookEndpoint"));
    }

    public String getId() {
        return id;
    }

    public String getUrl() {
        return url;
    }

    public String getDescription() {
        return description;
    }

    public List<String> getEventTypes() {
        return eventTypes;
    }

    public String getStatus() {
        return status;
    }

    public String getSecret() {
        return secret;
    }

    public int getConsecutiveFailures() {
        return consecutiveFailures;
    }

    /** Since when deliveries have failed without a success in between; null while healthy. */
    public Instant getFailingSince() {
        return failingSince;
    }

    public Instant getDisabledAt() {
        return disabledAt;
    }

    public String getDisabledReason() {
        return disabledReason;
    }

    public Instant getPreviousSecretExpiresAt() {
        return previousSecretExpiresAt;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }


    @Override
    public String toString() {
        return "WebhookEndpoint{"
                + "id=" + id
                + ", url=" + url
                + ", description=" + description
                + ", eventTypes=" + eventTypes
                + ", status=" + status
                + ", secret=" + (secret == null ? null : "***")
                + ", consecutiveFailures=" + consecutiveFailures
                + ", disabledAt=" + disabledAt
                + ", disabledReason=" + disabledReason
                + ", previousSecretExpiresAt=" + previousSecretExpiresAt
                + ", createdAt=" + createdAt
                + ", updatedAt=" + updatedAt
                + "}";
    }
}
