package com.paymentengine.model;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** A payment between two accounts. {@code getStatus()} is PENDING, PROCESSING, COMPLETED, FAILED or CANCELED. */
public final class Transaction {
    private final String id;
    private final String fromAccountId;
    private final String toAccountId;
    private final String paymentTypeId;
    private final BigDecimal amount;
    private final String currencyCode;
    private final String status;
    private final String description;
    private final String externalReference;
    private final Map<String, Object> metadata;
    private final String failureReason;
    private final Instant createdAt;
    private final Instant updatedAt;
    private final Instant completedAt;
    private final Instant expectedSettlementAt;
    private final String requestId;

    private Transaction(Fields f) {
        this.id = f.string("id");
        this.fromAccountId = f.string("fromAccountId");
        this.toAccountId = f.string("toAccountId");
        this.paymentTypeId = f.string("paymentTypeId");
        this.amount = f.amount("amount", f.string("currencyCode"));
        this.currencyCode = f.string("currencyCode");
        this.status = f.string("status");
        this.description = f.string("description");
        this.externalReference = f.string("externalReference");
        this.metadata = f.map("metadata");
        this.failureReason = f.string("failureReason");
        this.createdAt = f.instant("createdAt");
        this.updatedAt = f.instant("updatedAt");
        this.completedAt = f.instant("completedAt");
        this.expectedSettlementAt = f.instant("expectedSettlementAt");
        this.requestId = f.string("requestId");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static Transaction fromJson(Map<String, ?> json) {
        return new Transaction(Fields.of(json, "Transaction"));
    }

    public String getId() {
        return id;
    }

    public String getFromAccountId() {
        return fromAccountId;
    }

    public String getToAccountId() {
        return toAccountId;
    }

    public String getPaymentTypeId() {
        return paymentTypeId;
    }

    public BigDecimal getAmount() {
        return amount;
    }

    public String getCurrencyCode() {
        return currencyCode;
    }

    public String getStatus() {
        return status;
    }

    public String getDescription() {
        return description;
    }

    public String getExternalReference() {
        return externalReference;
    }

    public Map<String, Object> getMetadata() {
        return metadata;
    }

    public String getFailureReason() {
        return failureReason;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }

    public Instant getCompletedAt() {
        return completedAt;
    }

    public Instant getExpectedSettlementAt() {
        return expectedSettlementAt;
    }

    /** The X-Request-Id of the request that created the payment. */
    public String getRequestId() {
        return requestId;
    }


    @Override
    public String toString() {
        return "Transaction{"
                + "id=" + id
                + ", fromAccountId=" + fromAccountId
                + ", toAccountId=" + toAccountId
                + ", paymentTypeId=" + paymentTypeId
                + ", amount=" + amount
                + ", currencyCode=" + currencyCode
                + ", status=" + status
                + ", description=" + description
                + ", externalReference=" + externalReference
                + ", metadata=" + metadata
                + ", failureReason=" + failureReason
                + ", createdAt=" + createdAt
                + ", updatedAt=" + updatedAt
                + ", completedAt=" + completedAt
                + ", expectedSettlementAt=" + expectedSettlementAt
                + "}";
    }
}
