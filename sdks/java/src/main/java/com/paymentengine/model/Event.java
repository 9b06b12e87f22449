package com.paymentengine.model;

import java.time.Instant;
import java.util.Map;

/** Something that happened ({@code transaction.completed}, …): what webhooks deliver. */
public final class Event {
    private final String eventId;
    private final String eventType;
    private final String tenantId;
    private final Map<String, Object> data;
    private final Instant createdAt;

    private Event(Fields f) {
        this.eventId = f.string("eventId");
        this.eventType = f.string("eventType");
        this.tenantId = f.string("tenantId");
        this.data = f.map("data");
        this.createdAt = f.instant("createdAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static Event fromJson(Map<String, ?> json) {
        return new Event(Fields.of(json, "Event"));
    }

    public String getEventId() {
        return eventId;
    }

    public String getEventType() {
        return eventType;
    }

    public String getTenantId() {
        return tenantId;
    }

    public Map<String, Object> getData() {
        return data;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }


    @Override
    public String toString() {
        return "Event{"
                + "eventId=" + eventId
                + ", eventType=" + eventType
                + ", tenantId=" + tenantId
                + ", data=" + data
                + ", createdAt=" + createdAt
                + "}";
    }
}
