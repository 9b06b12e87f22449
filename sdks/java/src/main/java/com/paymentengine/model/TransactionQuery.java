package com.paymentengine.model;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Filters for {@code transactions().list(query)}: every one optional; {@code limit} caps the items iterated. */
public final class TransactionQuery {
    private String status;
    private String accountId;
    private String paymentTypeId;
    private String externalReference;
    private Instant createdAfter;
    private Instant createdBefore;
    private Integer pageSize;
    private Long limit;

    public static TransactionQuery builder() {
        return new TransactionQuery();
    }

    public TransactionQuery status(String value) {
        status = value;
        return this;
    }

    public TransactionQuery accountId(String value) {
        accountId = value;
        return this;
    }

    public TransactionQuery paymentTypeId(String value) {
        paymentTypeId = value;
        return this;
    }

    public TransactionQuery externalReference(String value) {
        externalReference = value;
        return this;
    }

    public TransactionQuery createdAfter(Instant value) {
        createdAfter = value;
        return this;
    }

    public TransactionQuery createdBefore(Instant value) {
        createdBefore = value;
        return this;
    }

    public TransactionQuery pageSize(int value) {
        pageSize = value;
        return this;
    }

    public TransactionQuery limit(long value) {
        limit = value;
        return this;
    }

    public Integer getPageSize() {
        return pageSize;
    }

    public Long getLimit() {
        return limit;
    }

    /** The query parameters of the filters that are set. */
    public Map<String, String> toQuery() {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("status", status);
        query.put("accountId", accountId);
        query.put("paymentTypeId", paymentTypeId);
        query.put("externalReference", externalReference);
        query.put("createdAfter", createdAfter == null ? null : createdAfter.toString());
        query.put("createdBefore", createdBefore == null ? null : createdBefore.toString());
        return query;
    }
}
