package com.paymentengine.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When a failed attempt is tried again, and how long to wait first. Retried: 429 always; 5xx
 * (but 501/505), 409 IDEMPOTENCY_KEY_IN_USE and network failures when the call is retry-safe;
 * a connection that was never made always. The n-th retry waits a jittered
 * {@code retryDelay * 2^(n-1)} (between half and all of it, capped at {@code retryDelayMax}),
 * never less than the server's Retry-After; a Retry-After above {@code retryAfterMax} is not
 * waited out.
 */
public final class RetryPolicy {
    public static final int RETRIES_MAX = 10;

    private final int retries;
    private final Duration retryDelay;
    private final Duration retryDelayMax;
    private final Duration retryAfterMax;

    public RetryPolicy(int retries, Duration retryDelay, Duration retryDelayMax, Duration retryAfterMax) {
        if (retries < 0 || retries > RETRIES_MAX) {
            throw new IllegalArgumentException("retries must be between 0 and " + RETRIES_MAX);
        }
        if (retryDelay.isNegative() || retryDelayMax.compareTo(retryDelay) < 0 || retryAfterMax.isNegative()) {
            throw new IllegalArgumentException("need retryDelay >= 0, retryDelayMax >= retryDelay, retryAfterMax >= 0");
        }
        this.retries = retries;
        this.retryDelay = retryDelay;
        this.retryDelayMax = retryDelayMax;
        this.retryAfterMax = retryAfterMax;
    }

    public int retries() {
        return retries;
    }

    /** Nanoseconds to wait before retry {@code retryNumber} (1-based), or -1 when it must not happen. */
    long delayNanos(int retryNumber, Duration retryAfter) {
        if (retryNumber > retries) {
            return -1;
        }
        if (retryAfter != null && retryAfter.compareTo(retryAfterMax) > 0) {
            return -1;
        }
        double ceiling = Math.min(retryDelay.toNanos() * Math.pow(2, Math.min(retryNumber - 1, 30)),
                retryDelayMax.toNanos());
        long wait = (long) (ceiling * (0.5 + ThreadLocalRandom.current().nextDouble() / 2));
        if (retryAfter != null) {
            wait = Math.max(wait, retryAfter.toNanos());
        }
        return wait;
    }

    static boolean shouldRetryAnswer(int status, String code, boolean retrySafe) {
        if (status == 429) {
            return true; // refused before any work was done
        }
        if (!retrySafe) {
            return false;
        }
        if ("IDEMPOTENCY_KEY_IN_USE".equals(code)) {
            return true;
        }
        return status >= 500 && status != 501 && status != 505;
    }
}
