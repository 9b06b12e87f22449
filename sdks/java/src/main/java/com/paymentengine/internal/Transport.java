package com.paymentengine.internal;

import com.paymentengine.model.ConnectionException;
import com.paymentengine.model.ErrorInfo;
import com.paymentengine.model.InvalidResponseException;
import com.paymentengine.model.OutcomeUnknownException;
import com.paymentengine.model.PaymentEngineException;
import com.paymentengine.model.PaymentEngineTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends one API call: credentials, attempts, retries, one deadline, error mapping, parsing.
 *
 * <p>Per call: the body is serialized once and a POST gets its Idempotency-Key once, so every
 * attempt sends the same bytes and the same key and the engine recognises a retry as the same
 * request. The call's timeout is one deadline for everything (login, every attempt with its
 * whole body, the waits between attempts): the JDK's per-request timeout stops at the headers,
 * so each attempt is awaited for at most the time left.
 */
public final class Transport {
    public static final String API_PREFIX = "/api/v1";
    public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
    public static final int IDEMPOTENCY_KEY_LENGTH_MAX = 255;
    static final String LOGIN_PATH = API_PREFIX + "/auth/login";
    static final String REFRESH_PATH = API_PREFIX + "/auth/refresh";
    static final String REQUEST_ID_HEADER = "X-Request-Id";
    static final int BODY_SHOWN_MAX = 500;
    // Retries are bounded by the policy; this also bounds the one re-send after a refused token.
    static final int ATTEMPTS_MAX = RetryPolicy.RETRIES_MAX + 2;

    private final HttpClient http;
    private final String baseUrl;
    private final Duration timeout;
    private final RetryPolicy retryPolicy;
    private final String apiKey;
    private final String username;
    private final String password;
    private final String userAgent;
    private final Session session;

    public Transport(HttpClient http, String baseUrl, Duration timeout, RetryPolicy retryPolicy, String apiKey,
            String username, String password, String userAgent) {
        this.http = http;
        this.baseUrl = normalizeBaseUrl(baseUrl);
        this.timeout = timeout;
        this.retryPolicy = retryPolicy;
        this.apiKey = apiKey;
        this.username = username;
        this.password = password;
        this.userAgent = userAgent;
        this.session = username != null ? new Session() : null;
    }

    public static String normalizeBaseUrl(String baseUrl) {
        String url = baseUrl.strip();
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        if (!url.startsWith("https://") && !url.startsWith("http://")) {
            throw new IllegalArgumentException("baseUrl must start with https:// (got " + baseUrl + ")");
        }
        // The guide's base URLs stop before /api/v1; accept one that includes it too.
        return url.endsWith(API_PREFIX) ? url.substring(0, url.length() - API_PREFIX.length()) : url;
    }

    public static String segment(String value, String name) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
        return encode(value);
    }

    public static String checkIdempotencyKey(String key) {
        if (key == null || key.isEmpty() || key.length() > IDEMPOTENCY_KEY_LENGTH_MAX
                || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException(
                    "idempotencyKey must be 1 to " + IDEMPOTENCY_KEY_LENGTH_MAX + " printable ASCII characters");
        }
        return key;
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public Duration timeout() {
        return timeout;
    }

    public <T> T request(Operation<T> operation) {
        return request(operation, System.nanoTime() + timeout.toNanos());
    }

    private <T> T request(Operation<T> operation, long deadline) {
        byte[] content = operation.body == null ? null : Json.write(operation.body);
        String key = null;
        if ("POST".equals(operation.method)) {
            key = checkIdempotencyKey(
                    operation.idempotencyKey != null ? operation.idempotencyKey : UUID.randomUUID().toString());
        }
        URI uri = uri(operation);
        int retryNumber = 0;
        boolean reauthenticated = false;
        boolean maybeSent = false;
        PaymentEngineException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw deadlinePassed(operation, key, maybeSent, last);
            }
            String token = operation.authenticated ? sessionToken(deadline) : null;
            remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw deadlinePassed(operation, key, maybeSent, last);
            }
            HttpRequest request = build(operation, uri, content, key, token, remaining);
            CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(request,
                    HttpResponse.BodyHandlers.ofByteArray());
            HttpResponse<byte[]> response;
            try {
                response = pending.get(remaining, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                pending.cancel(true);
                throw unknownOutcome(operation, key, true, new PaymentEngineTimeoutException(ErrorInfo.local(
                        "No whole answer from the Payment Engine within the call's deadline (" + timeout + ")",
                        "TIMEOUT", key), e));
            } catch (InterruptedException e) {
                pending.cancel(true);
                Thread.currentThread().interrupt();
                throw new ConnectionException(ErrorInfo.local("Interrupted while waiting for the Payment Engine",
                        "CONNECTION_ERROR", key), e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                boolean notSent = cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException;
                maybeSent |= !notSent;
                PaymentEngineException failure = cause instanceof java.net.http.HttpTimeoutException
                        ? new PaymentEngineTimeoutException(ErrorInfo.local(
                                "No answer from the Payment Engine in time: " + cause, "TIMEOUT", key), cause)
                        : new ConnectionException(ErrorInfo.local(
                                truncate("Could not reach the Payment Engine: " + cause), "CONNECTION_ERROR", key),
                                cause);
                last = failure;
                if ((notSent || operation.retrySafe) && waitBeforeRetry(++retryNumber, null, deadline)) {
                    continue;
                }
                throw unknownOutcome(operation, key, maybeSent, failure);
            }
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return parseSuccess(operation, response);
            }
            maybeSent = false; // an answer: the outcome is whatever it says
            PaymentEngineException error = errorFromResponse(response, key);
            if (!reauthenticated && status == 401 && session != null && operation.authenticated) {
                reauthenticated = true;
                synchronized (session) {
                    session.reject(token);
                }
                continue;
            }
            last = error;
            if (RetryPolicy.shouldRetryAnswer(status, error.getCode(), operation.retrySafe)
                    && waitBeforeRetry(++retryNumber, error.getRetryAfter(), deadline)) {
                continue;
            }
            throw error;
        }
        throw last;
    }

    /** Sleeps before a retry when the policy allows it and it ends before the deadline. */
    private boolean waitBeforeRetry(int retryNumber, Duration retryAfter, long deadline) {
        long delay = retryPolicy.delayNanos(retryNumber, retryAfter);
        if (delay < 0 || System.nanoTime() + delay >= deadline) {
            return false;
        }
        try {
            TimeUnit.NANOSECONDS.sleep(delay);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private PaymentEngineException deadlinePassed(Operation<?> operation, String key, boolean maybeSent,
            PaymentEngineException last) {
        if (last != null && last.getStatus() != 0 && !maybeSent) {
            return last; // the last answer (a 503, say) explains the failure best
        }
        PaymentEngineException timedOut = new PaymentEngineTimeoutException(ErrorInfo.local(
                "The call's deadline (" + timeout + ") passed before the Payment Engine answered", "TIMEOUT", key), last);
        return unknownOutcome(operation, key, maybeSent, timedOut);
    }

    private static PaymentEngineException unknownOutcome(Operation<?> operation, String key, boolean maybeSent,
            PaymentEngineException failure) {
        if (!"POST".equals(operation.method) || !maybeSent) {
            return failure;
        }
        return new OutcomeUnknownException(ErrorInfo.local(
                "The Payment Engine may or may not have processed " + operation.method + " " + operation.path
                        + " (" + failure.getMessage() + "); send it again with Idempotency-Key " + key
                        + " to learn the outcome without doing it twice",
                "OUTCOME_UNKNOWN", key), failure);
    }

    private URI uri(Operation<?> operation) {
        StringBuilder url = new StringBuilder(baseUrl).append(operation.path);
        char separator = '?';
        for (Map.Entry<String, String> entry : operation.query.entrySet()) {
            url.append(separator).append(encode(entry.getKey())).append('=').append(encode(entry.getValue()));
            separator = '&';
        }
        return URI.create(url.toString());
    }

    private HttpRequest build(Operation<?> operation, URI uri, byte[] content, String key, String token,
            long remainingNanos) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofNanos(Math.max(remainingNanos, 1_000_000)))
                .header("Accept", "application/json")
                .header("User-Agent", userAgent);
        if (content != null) {
            builder.header("Content-Type", "application/json");
        }
        if (key != null) {
            builder.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        if (operation.authenticated && apiKey != null) {
            builder.header("X-API-Key", apiKey);
        }
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        HttpRequest.BodyPublisher publisher = content == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(content);
        return builder.method(operation.method, publisher).build();
    }

    private static <T> T parseSuccess(Operation<T> operation, HttpResponse<byte[]> response) {
        String requestId = response.headers().firstValue(REQUEST_ID_HEADER).orElse(null);
        byte[] body = response.body();
        Object document;
        try {
            document = body == null || body.length == 0 ? null : Json.parse(body);
        } catch (IllegalArgumentException e) {
            throw new InvalidResponseException("The answer to " + operation.method + " " + operation.path
                    + " is not JSON", response.statusCode(), requestId, text(body));
        }
        try {
            return operation.parse.apply(document);
        } catch (InvalidResponseException e) {
            throw new InvalidResponseException(e.getMessage() + " (" + operation.method + " " + operation.path + ")",
                    response.statusCode(), requestId, truncate(String.valueOf(document)));
        }
    }

    /** The guide's envelope becomes the exception of its code; any other body the status's. */
    static PaymentEngineException errorFromResponse(HttpResponse<byte[]> response, String key) {
        int status = response.statusCode();
        String headerRequestId = response.headers().firstValue(REQUEST_ID_HEADER).orElse(null);
        Duration retryAfter = parseRetryAfter(response.headers().firstValue("Retry-After").orElse(null), Instant.now());
        byte[] body = response.body();
        Object document;
        try {
            document = body == null || body.length == 0 ? null : Json.parse(body);
        } catch (IllegalArgumentException notJson) {
            return new InvalidResponseException(new ErrorInfo(
                    "HTTP " + status + " with a body that is not JSON (from a proxy?): " + truncate(text(body)),
                    "INVALID_RESPONSE", status, null, headerRequestId, null, retryAfter, key, text(body)));
        }
        Object envelope = document instanceof Map ? ((Map<?, ?>) document).get("error") : null;
        if (!(envelope instanceof Map)) {
            return PaymentEngineException.of(new ErrorInfo("HTTP " + status, defaultCode(status), status, null,
                    headerRequestId, null, retryAfter, key, truncate(text(body))));
        }
        Map<?, ?> error = (Map<?, ?>) envelope;
        String code = error.get("code") instanceof String ? (String) error.get("code") : defaultCode(status);
        String message = error.get("message") instanceof String ? (String) error.get("message") : "HTTP " + status;
        @SuppressWarnings("unchecked")
        Map<String, Object> details = error.get("details") instanceof Map ? (Map<String, Object>) error.get("details")
                : Map.of();
        String requestId = error.get("requestId") instanceof String ? (String) error.get("requestId") : headerRequestId;
        Instant timestamp = null;
        if (error.get("timestamp") instanceof String) {
            try {
                timestamp = OffsetDateTime.parse((String) error.get("timestamp")).toInstant();
            } catch (DateTimeParseException ignored) {
                // A malformed timestamp does not hide the error itself.
            }
        }
        return PaymentEngineException.of(
                new ErrorInfo(message, code, status, details, requestId, timestamp, retryAfter, key, null));
    }

    /** The guide's code for a status, for answers that carry none (a proxy's JSON, say). */
    static String defaultCode(int status) {
        switch (status) {
            case 400: return "INVALID_REQUEST";
            case 401: return "UNAUTHORIZED";
            case 403: return "FORBIDDEN";
            case 404: return "NOT_FOUND";
            case 405: return "METHOD_NOT_ALLOWED";
            case 409: return "CONFLICT";
            case 413: return "PAYLOAD_TOO_LARGE";
            case 422: return "UNPROCESSABLE";
            case 429: return "RATE_LIMIT_EXCEEDED";
            case 500: return "INTERNAL_ERROR";
            case 503: return "SERVICE_UNAVAILABLE";
            default: return status >= 500 ? "SERVER_ERROR" : "UNKNOWN_ERROR";
        }
    }

    /** Retry-After as delta-seconds or an HTTP-date (RFC 9110 10.2.3); null when absent or unreadable. */
    public static Duration parseRetryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String text = value.strip();
        try {
            double seconds = Double.parseDouble(text);
            if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
                return null;
            }
            return Duration.ofMillis((long) (Math.max(0, seconds) * 1000));
        } catch (NumberFormatException notSeconds) {
            try {
                Instant moment = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration wait = Duration.between(now, moment);
                return wait.isNegative() ? Duration.ZERO : wait;
            } catch (DateTimeParseException notDate) {
                return null;
            }
        }
    }

    private static String text(byte[] body) {
        return body == null ? "" : truncate(new String(body, StandardCharsets.UTF_8));
    }

    private static String truncate(String text) {
        return text.length() <= BODY_SHOWN_MAX ? text : text.substring(0, BODY_SHOWN_MAX);
    }

    // --- username/password sessions ------------------------------------------------------

    private String sessionToken(long deadline) {
        if (session == null) {
            return null;
        }
        synchronized (session) {
            String token = session.current(System.nanoTime());
            if (token != null) {
                return token;
            }
            Map<String, ?> pair = renew(deadline);
            String access = pair.get("access_token") instanceof String ? (String) pair.get("access_token") : null;
            if (access == null || access.isEmpty()) {
                throw new InvalidResponseException("The login answer has no access_token", 200, null, null);
            }
            String refresh = pair.get("refresh_token") instanceof String ? (String) pair.get("refresh_token") : null;
            long expiresIn = pair.get("expires_in") instanceof Long ? (Long) pair.get("expires_in") : 0L;
            session.store(access, refresh, expiresIn, System.nanoTime());
            return access;
        }
    }

    private Map<String, ?> renew(long deadline) {
        String refreshToken = session.refreshToken();
        if (refreshToken != null) {
            session.forgetRefreshToken();
            // Never repeated after an ambiguous failure: a refresh token is spent on first use and
            // its reuse is treated as theft. If the answer is lost, log in again instead.
            Operation<Map<String, ?>> refresh = Operation.post(REFRESH_PATH, Map.of("refresh_token", refreshToken),
                    Transport::tokenPair, null).notRetrySafe().unauthenticated();
            try {
                return request(refresh, deadline);
            } catch (PaymentEngineException error) {
                if (error.getStatus() == 0 || error.getStatus() >= 500) {
                    throw error;
                }
                // Refused (spent, expired, revoked): start a new session below.
            }
        }
        Operation<Map<String, ?>> login = Operation.post(LOGIN_PATH, Map.of("username", username, "password", password),
                Transport::tokenPair, null).notRetrySafe().unauthenticated();
        return request(login, deadline);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> tokenPair(Object document) {
        if (!(document instanceof Map)) {
            throw new InvalidResponseException("The login answer is not an object", null, null, null);
        }
        return (Map<String, ?>) document;
    }
}
