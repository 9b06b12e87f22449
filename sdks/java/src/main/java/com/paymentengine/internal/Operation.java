package com.paymentengine.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * One API call, described: method, path, query, body, how to read the answer, and whether
 * sending it twice cannot do anything twice ({@code retrySafe}: the engine deduplicates it by
 * its Idempotency-Key or answers a repeat like the first call).
 */
public final class Operation<T> {
    final String method;
    final String path;
    final Map<String, String> query;
    final Object body;
    final Function<Object, T> parse;
    final boolean retrySafe;
    final String idempotencyKey;
    final boolean authenticated;

    private Operation(String method, String path, Map<String, String> query, Object body, Function<Object, T> parse,
            boolean retrySafe, String idempotencyKey, boolean authenticated) {
        this.method = method;
        this.path = path;
        this.query = query;
        this.body = body;
        this.parse = parse;
        this.retrySafe = retrySafe;
        this.idempotencyKey = idempotencyKey;
        this.authenticated = authenticated;
    }

    public static <T> Operation<T> get(String path, Function<Object, T> parse) {
        return new Operation<>("GET", path, Map.of(), null, parse, true, null, true);
    }

    /** A POST that the engine deduplicates by its key (or that is harmless to repeat). */
    public static <T> Operation<T> post(String path, Object body, Function<Object, T> parse, String idempotencyKey) {
        return new Operation<>("POST", path, Map.of(), body, parse, true, idempotencyKey, true);
    }

    public Operation<T> withQuery(Map<String, String> query) {
        Map<String, String> copy = new LinkedHashMap<>();
        query.forEach((name, value) -> {
            if (value != null && !value.isEmpty()) {
                copy.put(name, value);
            }
        });
        return new Operation<>(method, path, Collections.unmodifiableMap(copy), body, parse, retrySafe,
                idempotencyKey, authenticated);
    }

    public Operation<T> withMethod(String newMethod) {
        return new Operation<>(newMethod, path, query, body, parse, retrySafe, idempotencyKey, authenticated);
    }

    /** Not repeated after an ambiguous failure: only when it provably had no effect (429, no connection). */
    public Operation<T> notRetrySafe() {
        return new Operation<>(method, path, query, body, parse, false, idempotencyKey, authenticated);
    }

    public Operation<T> unauthenticated() {
        return new Operation<>(method, path, query, body, parse, retrySafe, idempotencyKey, false);
    }
}
