package com.paymentengine.model;

import java.util.Map;

/** One payment of a batch: its {@code transaction} (status 201) or its {@code error}. */
public final class BatchTransactionResult {
    private final int index;
    private final int status;
    private final Transaction transaction;
    private final BatchItemError error;

    private BatchTransactionResult(Fields f) {
        this.index = f.integerOr("index", 0);
        this.status = f.integerOr("status", 0);
        this.transaction = f.nested("transaction") == null ? null : Transaction.fromJson(f.nested("transaction"));
        this.error = f.nested("error") == null ? null : BatchItemError.fromJson(f.nested("error"));
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static BatchTransactionResult fromJson(Map<String, ?> json) {
        return new BatchTransactionResult(Fields.of(json, "BatchTransactionResult"));
    }

    public int getIndex() {
        return index;
    }

    public int getStatus() {
        return status;
    }

    public Transaction getTransaction() {
        return transaction;
    }

    public BatchItemError getError() {
        return error;
    }

    /** Whether this payment was created (or replayed). */
    public boolean isSucceeded() {
        return transaction != null && error == null;
    }

    @Override
    public String toString() {
        return "BatchTransactionResult{"
                + "index=" + index
                + ", status=" + status
                + ", transaction=" + transaction
                + ", error=" + error
                + "}";
    }
}
