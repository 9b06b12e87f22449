package com.paymentengine.model;

import java.time.Instant;
import java.util.Map;

/** Where a payment stands: the answer of {@code transactions().getStatus(id)}. */
public final class TransactionStatus {
    private final String transactionId;
    private final String status;
    private final String failureReason;
    private final Instant createdAt;
    private final Instant updatedAt;
    private final Instant completedAt;
    private final Instant expectedSettlementAt;

    private TransactionStatus(Fields f) {
        this.transactionId = f.string("transactionId");
        this.status = f.string("status");
        this.failureReason = f.string("failureReason");
        this.createdAt = f.instant("createdAt");
        this.updatedAt = f.instant("updatedAt");
        this.completedAt = f.instant("completedAt");
        this.expectedSettlementAt = f.instant("expectedSettlementAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static TransactionStatus fromJson(Map<String, ?> json) {
        return new TransactionStatus(Fields.of(json, "TransactionStatus"));
    }

    public String getTransactionId() {
        return transactionId;
    }

    public String getStatus() {
        return status;
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

    /** The payment's id (the same as {@link #getTransactionId()}). */
    public String getId() {
        return transactionId;
    }

    /** Whether the status can no longer change: COMPLETED, FAILED or CANCELED. */
    public boolean isFinal() {
        return "COMPLETED".equals(status) || "FAILED".equals(status) || "CANCELED".equals(status);
    }

    @Override
    public String toString() {
        return "TransactionStatus{"
                + "transactionId=" + transactionId
                + ", status=" + status
                + ", failureReason=" + failureReason
                + ", createdAt=" + createdAt
                + ", updatedAt=" + updatedAt
                + ", completedAt=" + completedAt
                + ", expectedSettlementAt=" + expectedSettlementAt
                + "}";
    }
}
