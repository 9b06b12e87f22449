package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.ApiKey;
import com.paymentengine.model.CreatedApiKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/** {@code client.apiKeys()}: the tenant's API keys (needs a session with the apikey scopes). */
public final class ApiKeys {
    static final String PATH = "/api/v1/api-keys";

    private final Transport transport;

    ApiKeys(Transport transport) {
        this.transport = transport;
    }

    private static String path(String keyId) {
        return PATH + "/" + Transport.segment(keyId, "apiKeyId");
    }

    private static Function<Object, ApiKey> wrapped() {
        return document -> {
            Object key = Resources.object(document, "an API key answer").get("apiKey");
            return ApiKey.fromJson(Resources.object(key, "an API key"));
        };
    }

    /** A new key with these scopes; its secret is in the answer only. */
    public CreatedApiKey create(String name, List<String> scopes, Instant expireTime) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(scopes, "scopes");
        return transport.request(Operation.post(PATH, Resources.compact("name", name, "scopes", scopes, "expireTime",
                expireTime == null ? null : expireTime.toString()),
                Resources.reader(CreatedApiKey::fromJson, "a new API key"), null).notRetrySafe());
    }

    public ApiKey get(String keyId) {
        return transport.request(Operation.get(path(keyId), wrapped()));
    }

    public PagedIterable<ApiKey> list() {
        return Pages.of(transport, PATH, Map.of(), "apiKeys", ApiKey::fromJson, null, null);
    }

    /** Revokes the key at once. Revoking twice answers the revoked key again: safe to retry. */
    public ApiKey revoke(String keyId) {
        return transport.request(Operation.post(path(keyId) + ":revoke", Map.of(), wrapped(), null));
    }

    /** A replacement key; the old one keeps working for {@code overlapSeconds} (null: the engine's default). */
    public CreatedApiKey rotate(String keyId, Integer overlapSeconds) {
        return transport.request(Operation.post(path(keyId) + ":rotate", Resources.compact("overlapSeconds",
                overlapSeconds), Resources.reader(CreatedApiKey::fromJson, "a rotated API key"), null).notRetrySafe());
    }
}
