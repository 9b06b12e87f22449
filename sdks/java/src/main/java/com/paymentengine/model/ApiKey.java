package com.paymentengine.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** An API key (never its secret, which is shown once at creation or rotation). */
public final class ApiKey {
    private final String id;
    private final String name;
    private final List<String> scopes;
    private final String status;
    private final String secretPrefix;
    private final Instant createTime;
    private final Instant expireTime;
    private final Instant lastUsedTime;
    private final Instant revokeTime;
    private final String rotatedFromId;

    private ApiKey(Fields f) {
        this.id = f.string("id");
        this.name = f.string("name");
        this.scopes = f.strings("scopes");
        this.status = f.string("status");
        this.secretPrefix = f.string("secretPrefix");
        this.createTime = f.instant("createTime");
        this.expireTime = f.instant("expireTime");
        this.lastUsedTime = f.instant("lastUsedTime");
        this.revokeTime = f.instant("revokeTime");
        this.rotatedFromId = f.string("rotatedFromId");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static ApiKey fromJson(Map<String, ?> json) {
        return new ApiKey(Fields.of(json, "ApiKey"));
    }

    public String getId() {
        return id;
    }

    public String getName() {
        return name;
    }

    public List<String> getScopes() {
        return scopes;
    }

    public String getStatus() {
        return status;
    }

    public String getSecretPrefix() {
        return secretPrefix;
    }

    public Instant getCreateTime() {
        return createTime;
    }

    public Instant getExpireTime() {
        return expireTime;
    }

    public Instant getLastUsedTime() {
        return lastUsedTime;
    }

    public Instant getRevokeTime() {
        return revokeTime;
    }

    public String getRotatedFromId() {
        return rotatedFromId;
    }


    @Override
    public String toString() {
        return "ApiKey{"
                + "id=" + id
                + ", name=" + name
                + ", scopes=" + scopes
                + ", status=" + status
                + ", secretPrefix=" + secretPrefix
                + ", createTime=" + createTime
                + ", expireTime=" + expireTime
                + ", lastUsedTime=" + lastUsedTime
                + ", revokeTime=" + revokeTime
                + ", rotatedFromId=" + rotatedFromId
                + "}";
    }
}
