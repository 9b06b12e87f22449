package com.paymentengine.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** How long the client waits before a retry, and which answers it retries. */
class RetryPolicyTest {
    final RetryPolicy policy = new RetryPolicy(3, Duration.ofSeconds(1), Duration.ofSeconds(30),
            Duration.ofSeconds(60));

    @RepeatedTest(20)
    void backoffDoublesWithJitterBetweenHalfAndAll() {
        for (int retry = 1; retry <= 3; retry++) {
            long ceiling = Duration.ofSeconds(1L << (retry - 1)).toNanos();
            long delay = policy.delayNanos(retry, null);
            assertTrue(delay >= ceiling / 2 && delay <= ceiling, retry + ": " + delay);
        }
    }

    @Test
    void retryAfterIsAFloorAndTooLongARetryAfterStopsRetrying() {
        assertTrue(policy.delayNanos(1, Duration.ofSeconds(7)) >= Duration.ofSeconds(7).toNanos());
        assertEquals(-1, policy.delayNanos(1, Duration.ofSeconds(61)));
        assertEquals(-1, policy.delayNanos(4, null));
    }

    @Test
    void retriedAnswers() {
        assertTrue(RetryPolicy.shouldRetryAnswer(429, "RATE_LIMIT_EXCEEDED", false));
        for (int status : new int[] {500, 502, 503, 504}) {
            assertTrue(RetryPolicy.shouldRetryAnswer(status, null, true));
            assertFalse(RetryPolicy.shouldRetryAnswer(status, null, false));
        }
        assertFalse(RetryPolicy.shouldRetryAnswer(501, null, true));
        assertTrue(RetryPolicy.shouldRetryAnswer(409, "IDEMPOTENCY_KEY_IN_USE", true));
        for (int status : new int[] {400, 401, 403, 404, 409, 422}) {
            assertFalse(RetryPolicy.shouldRetryAnswer(status, "X", true));
        }
    }

    @Test
    void retryAfterReadsSecondsAndHttpDates() {
        Instant now = Instant.parse("2024-01-15T10:30:00Z");
        assertEquals(Duration.ofSeconds(2), Transport.parseRetryAfter("2", now));
        assertEquals(Duration.ofSeconds(90), Transport.parseRetryAfter("Mon, 15 Jan 2024 10:31:30 GMT", now));
        assertEquals(Duration.ZERO, Transport.parseRetryAfter("Mon, 15 Jan 2024 10:00:00 GMT", now));
        assertNull(Transport.parseRetryAfter("soon", now));
        assertNull(Transport.parseRetryAfter(null, now));
    }

    @Test
    void limits() {
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(11, Duration.ZERO, Duration.ZERO,
                Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Transport.checkIdempotencyKey("é"));
        assertThrows(IllegalArgumentException.class, () -> Transport.checkIdempotencyKey("x".repeat(256)));
        assertEquals("http://h:1", Transport.normalizeBaseUrl("http://h:1/api/v1/"));
    }
}
