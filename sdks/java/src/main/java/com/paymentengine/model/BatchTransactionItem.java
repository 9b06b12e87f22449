package com.paymentengine.model;

import java.util.Map;
import java.util.Objects;

/**
 * One payment of a batch: a {@link CreateTransactionRequest} and, optionally, its own
 * Idempotency-Key (the same key a single create would carry: a payment created alone is
 * answered again, not paid twice, when it comes back in a batch).
 */
public final class BatchTransactionItem {
    private final CreateTransactionRequest request;
    private final String idempotencyKey;

    private BatchTransactionItem(CreateTransactionRequest request, String idempotencyKey) {
        this.request = Objects.requireNonNull(request, "request");
        this.idempotencyKey = idempotencyKey;
    }

    /** An item without its own key: a batch sent with a key keys it by its position. */
    public static BatchTransactionItem of(CreateTransactionRequest request) {
        return new BatchTransactionItem(request, null);
    }

    public static BatchTransactionItem of(CreateTransactionRequest request, String idempotencyKey) {
        return new BatchTransactionItem(request, Objects.requireNonNull(idempotencyKey, "idempotencyKey"));
    }

    public CreateTransactionRequest getRequest() {
        return request;
    }

    public String getIdempotencyKey() {
        return idempotencyKey;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        if (idempotencyKey != null) {
            body.put("idempotencyKey", idempotencyKey);
        }
        body.putAll(request.toJson());
        return body;
    }
}
