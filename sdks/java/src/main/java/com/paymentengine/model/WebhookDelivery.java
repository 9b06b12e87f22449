package com.paymentengine.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** One event's delivery to one endpoint, with its attempts. */
public final class WebhookDelivery {
    private final String id;
    private final String endpointId;
    private final String eventId;
    private final String eventType;
    private final String status;
    private final String trigger;
    private final int attemptCount;
    private final List<WebhookDeliveryAttempt> attempts;
    private final Instant nextAttemptAt;
    private final Instant createdAt;
    private final Instant completedAt;

    private WebhookDelivery(Fields f) {
        this.id = f.string("id");
        this.endpointId = f.string("endpointId");
        this.eventId = f.string("eventId");
        this.eventType = f.string("eventType");
        this.status = f.string("status");
        this.trigger = f.string("trigger");
        this.attemptCount = f.integerOr("attemptCount", 0);
        this.attempts = f.objects("attempts", WebhookDeliveryAttempt::fromJson);
        this.nextAttemptAt = f.instant("nextAttemptAt");
        this.createdAt = f.instant("createdAt");
        this.completedAt = f.instant("completedAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static WebhookDelivery fromJson(Map<String, ?> json) {
        return new WebhookDelivery(Fields.of(json, "WebhookDelivery"));
    }

    public String getId() {
        return id;
    }

    public String getEndpointId() {
        return endpointId;
    }

    public String getEventId() {
        return eventId;
    }

    public String getEventType() {
        return eventType;
    }

    public String getStatus() {
        return status;
    }

    public String getTrigger() {
        return trigger;
    }

    public int getAttemptCount() {
        return attemptCount;
    }

    public List<WebhookDeliveryAttempt> getAttempts() {
        return attempts;
    }

    public Instant getNextAttemptAt() {
        return nextAttemptAt;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getCompletedAt() {
        return completedAt;
    }


    @Override
    public String toString() {
        return "WebhookDelivery{"
                + "id=" + id
                + ", endpointId=" + endpointId
                + ", eventId=" + eventId
                + ", eventType=" + eventType
                + ", status=" + status
                + ", trigger=" + trigger
                + ", attemptCount=" + attemptCount
                + ", attempts=" + attempts
                + ", nextAttemptAt=" + nextAttemptAt
                + ", createdAt=" + createdAt
                + ", completedAt=" + completedAt
                + "}";
    }
}
