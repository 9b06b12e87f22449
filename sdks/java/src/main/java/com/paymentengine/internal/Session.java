package com.paymentengine.internal;

/**
 * The access token of a username/password login and when to renew it: a little before it
 * expires (a tenth of its lifetime, at most a minute), or at once when the engine refuses it.
 */
final class Session {
    static final long RENEW_MARGIN_MAX_NANOS = 60_000_000_000L;

    private String accessToken;
    private String refreshToken;
    private long renewAtNanos;

    /** The token to send, or null when it must be renewed first. */
    String current(long nowNanos) {
        return accessToken != null && nowNanos < renewAtNanos ? accessToken : null;
    }

    String refreshToken() {
        return refreshToken;
    }

    void store(String access, String refresh, long expiresInSeconds, long nowNanos) {
        long lifetime = Math.max(0, expiresInSeconds) * 1_000_000_000L;
        long margin = Math.min(RENEW_MARGIN_MAX_NANOS, lifetime / 10);
        accessToken = access;
        refreshToken = refresh;
        renewAtNanos = nowNanos + lifetime - margin;
    }

    /** After a 401: this token is no good any more (unless another thread already replaced it). */
    void reject(String token) {
        if (token != null && token.equals(accessToken)) {
            accessToken = null;
        }
    }

    /** A refresh token is spent on first use, whatever the answer. */
    void forgetRefreshToken() {
        refreshToken = null;
    }
}
