package com.paymentengine.model;

import java.util.Map;

/** A new API key and its secret (shown only this once); after a rotation, also the previous key. */
public final class CreatedApiKey {
    private final ApiKey apiKey;
    private final String secret;
    private final ApiKey previousApiKey;

    private CreatedApiKey(Fields f) {
        this.apiKey = f.nested("apiKey") == null ? null : ApiKey.fromJson(f.nested("apiKey"));
        this.secret = f.string("secret");
        this.previousApiKey = f.nested("previousApiKey") == null ? null : ApiKey.fromJson(f.nested("previousApiKey"));
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static CreatedApiKey fromJson(Map<String, ?> json) {
        return new CreatedApiKey(Fields.of(json, "CreatedApiKey"));
    }

    public ApiKey getApiKey() {
        return apiKey;
    }

    public String getSecret() {
        return secret;
    }

    public ApiKey getPreviousApiKey() {
        return previousApiKey;
    }


    @Override
    public String toString() {
        return "CreatedApiKey{"
                + "apiKey=" + apiKey
                + ", secret=" + (secret == null ? null : "***")
                + ", previousApiKey=" + previousApiKey
                + "}";
    }
}
