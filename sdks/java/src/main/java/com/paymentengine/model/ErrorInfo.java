package com.paymentengine.model;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * What is known about one failure: the guide's error envelope ({@code code}, {@code message},
 * {@code details}, {@code timestamp}, {@code requestId}), the HTTP status (0 when no answer
 * arrived), the server's {@code Retry-After}, the call's {@code Idempotency-Key} (POSTs only) and
 * the raw body text when it was not the envelope.
 */
public record ErrorInfo(
        String message,
        String code,
        int status,
        Map<String, Object> details,
        String requestId,
        Instant timestamp,
        Duration retryAfter,
        String idempotencyKey,
        String body) {

    public ErrorInfo {
        details = details == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
    }

    /** A failure without an answer from the engine. */
    public static ErrorInfo local(String message, String code, String idempotencyKey) {
        return new ErrorInfo(message, code, 0, Map.of(), null, null, null, idempotencyKey, null);
    }

    public ErrorInfo withIdempotencyKey(String key) {
        return new ErrorInfo(message, code, status, details, requestId, timestamp, retryAfter, key, body);
    }
}
