package com.paymentengine.model;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** An account of the caller's tenant. {@code getStatus()} is ACTIVE, FROZEN or CLOSED. */
public final class Account {
    private final String id;
    private final String name;
    private final String currencyCode;
    private final String status;
    private final BigDecimal availableBalance;
    private final BigDecimal currentBalance;
    private final BigDecimal heldBalance;
    private final Map<String, Object> metadata;
    private final Instant createdAt;
    private final Instant updatedAt;

    private Account(Fields f) {
        this.id = f.string("id");
        this.name = f.string("name");
        this.currencyCode = f.string("currencyCode");
        this.status = f.string("status");
        this.availableBalance = f.amount("availableBalance", f.string("currencyCode"));
        this.currentBalance = f.amount("currentBalance", f.string("currencyCode"));
        this.heldBalance = f.amount("heldBalance", f.string("currencyCode"));
        this.metadata = f.map("metadata");
        this.createdAt = f.instant("createdAt");
        this.updatedAt = f.instant("updatedAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static Account fromJson(Map<String, ?> json) {
        return new Account(Fields.of(json, "Account"));
    }

    public String getId() {
        return id;
    }

    public String getName() {
        return name;
    }

    public String getCurrencyCode() {
        return currencyCode;
    }

    public String getStatus() {
        return status;
    }

    public BigDecimal getAvailableBalance() {
        return availableBalance;
    }

    public BigDecimal getCurrentBalance() {
        return currentBalance;
    }

    public BigDecimal getHeldBalance() {
        return heldBalance;
    }

    public Map<String, Object> getMetadata() {
        return metadata;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }


    @Override
    public String toString() {
        return "Account{"
                + "id=" + id
                + ", name=" + name
                + ", currencyCode=" + currencyCode
                + ", status=" + status
                + ", availableBalance=" + availableBalance
                + ", currentBalance=" + currentBalance
                + ", heldBalance=" + heldBalance
                + ", metadata=" + metadata
                + ", createdAt=" + createdAt
                + ", updatedAt=" + updatedAt
                + "}";
    }
}
