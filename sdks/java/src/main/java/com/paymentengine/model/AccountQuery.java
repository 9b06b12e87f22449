package com.paymentengine.model;

import java.util.LinkedHashMap;
import java.util.Map;

/** Filters for {@code accounts().list(query)}: every one optional; {@code limit} caps the items iterated. */
public final class AccountQuery {
    private String status;
    private String currencyCode;
    private Integer pageSize;
    private Long limit;

    public static AccountQuery builder() {
        return new AccountQuery();
    }

    /** ACTIVE, FROZEN or CLOSED. */
    public AccountQuery status(String value) {
        status = value;
        return this;
    }

    public AccountQuery currencyCode(String value) {
        currencyCode = value;
        return this;
    }

    public AccountQuery pageSize(int value) {
        pageSize = value;
        return this;
    }

    public AccountQuery limit(long value) {
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
        query.put("status", status);
        query.put("currencyCode", currencyCode);
        return query;
    }
}
