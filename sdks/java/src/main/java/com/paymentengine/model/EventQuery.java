package com.paymentengine.model;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Filters for {@code events().list(query)}: every one optional; {@code limit} caps the items iterated. */
public final class EventQuery {
    private String eventType;
    private Instant createdAfter;
    private Instant createdBefore;
    private Integer pageSize;
    private Long limit;

    public static EventQuery builder() {
        return new EventQuery();
    }

    /** {@code transaction.completed}, … */
    public EventQuery eventType(String value) {
        eventType = value;
        return this;
    }

    public EventQuery createdAfter(Instant value) {
        createdAfter = value;
        return this;
    }

    public EventQuery createdBefore(Instant value) {
        createdBefore = value;
        return this;
    }

    public EventQuery pageSize(int value) {
        pageSize = value;
        return this;
    }

    public EventQuery limit(long value) {
        limit = value;
        return this;
    }

    public Integer getPageSize() {
        return pageSize;
    }

    public Long getLimit() {
        return limit;
    }

    public Map<String, String> toQuery() {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("eventType", eventType);
        query.put("createdAfter", createdAfter == null ? null : createdAfter.toString());
        query.put("createdBefore", createdBefore == null ? null : createdBefore.toString());
        return query;
    }
}
