package com.paymentengine.model;

import java.util.List;
import java.util.Map;

/** The answer to a batch of payments: one result per item, in request order. */
public final class BatchCreateTransactionsResult {
    private final List<BatchTransactionResult> results;
    private final int succeededCount;
    private final int failedCount;

    private BatchCreateTransactionsResult(Fields f) {
        this.results = f.objects("results", BatchTransactionResult::fromJson);
        this.succeededCount = f.integerOr("succeededCount", 0);
        this.failedCount = f.integerOr("failedCount", 0);
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static BatchCreateTransactionsResult fromJson(Map<String, ?> json) {
        return new BatchCreateTransactionsResult(Fields.of(json, "BatchCreateTransactionsResult"));
    }

    public List<BatchTransactionResult> getResults() {
        return results;
    }

    public int getSucceededCount() {
        return succeededCount;
    }

    public int getFailedCount() {
        return failedCount;
    }


    @Override
    public String toString() {
        return "BatchCreateTransactionsResult{"
                + "results=" + results
                + ", succeededCount=" + succeededCount
                + ", failedCount=" + failedCount
                + "}";
    }
}
