package com.paymentengine.model;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Base of every failure the SDK throws. Unchecked, so the guide's {@code catch
 * (PaymentEngineException e) { ...; throw e; }} needs no {@code throws} clause.
 *
 * <p>Errors the engine answers arrive in the guide's envelope and are thrown as the subclass of
 * their {@code code} ({@code INSUFFICIENT_FUNDS} becomes {@link InsufficientFundsException});
 * a code this SDK does not know falls back to the class of its HTTP status. It lives in
 * {@code com.paymentengine.model} so that the guide's two imports are all its code needs.
 */
public class PaymentEngineException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ErrorInfo info;

    public PaymentEngineException(ErrorInfo info) {
        this(info, null);
    }

    public PaymentEngineException(ErrorInfo info, Throwable cause) {
        super(info.message(), cause);
        this.info = info;
    }

    /** The guide's error code ({@code INSUFFICIENT_FUNDS}, …), or the SDK's own for local failures. */
    public String getCode() {
        return info.code();
    }

    /** The HTTP status, or 0 when no answer arrived. */
    public int getStatus() {
        return info.status();
    }

    /** The envelope's {@code details} (for INSUFFICIENT_FUNDS: accountId, requestedAmount, availableBalance). */
    public Map<String, Object> getDetails() {
        return info.details();
    }

    /** The engine's request id: quote it to support. */
    public String getRequestId() {
        return info.requestId();
    }

    /** When the engine answered the error (the envelope's {@code timestamp}). */
    public Instant getTimestamp() {
        return info.timestamp();
    }

    /** The server's {@code Retry-After}, when it sent one. */
    public Duration getRetryAfter() {
        return info.retryAfter();
    }

    /** The {@code Idempotency-Key} the failed POST was sent with: send again with it to stay safe. */
    public String getIdempotencyKey() {
        return info.idempotencyKey();
    }

    /** The raw body (truncated) when it was not the error envelope: a proxy's HTML page, say. */
    public String getBody() {
        return info.body();
    }

    public ErrorInfo getInfo() {
        return info;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(getClass().getName()).append(": ").append(getMessage())
                .append(" (").append(getCode());
        if (getStatus() != 0) {
            text.append(", HTTP ").append(getStatus());
        }
        if (getRequestId() != null) {
            text.append(", request ").append(getRequestId());
        }
        return text.append(')').toString();
    }

    /** The exception for an error answer: the class of its code, else of its status. */
    public static PaymentEngineException of(ErrorInfo info) {
        if (info.code() != null) {
            switch (info.code()) {
                case "INVALID_REQUEST": return new InvalidRequestException(info);
                case "UNAUTHORIZED": return new UnauthorizedException(info);
                case "FORBIDDEN": return new ForbiddenException(info);
                case "NOT_FOUND": return new NotFoundException(info);
                case "METHOD_NOT_ALLOWED": return new MethodNotAllowedException(info);
                case "CONFLICT": return new ConflictException(info);
                case "IDEMPOTENCY_KEY_IN_USE": return new IdempotencyKeyInUseException(info);
                case "IDEMPOTENCY_KEY_REUSED": return new IdempotencyKeyReusedException(info);
                case "PAYLOAD_TOO_LARGE": return new PayloadTooLargeException(info);
                case "INSUFFICIENT_FUNDS": return new InsufficientFundsException(info);
                case "INVALID_ACCOUNT_STATUS": return new InvalidAccountStatusException(info);
                case "RATE_LIMIT_EXCEEDED": return new RateLimitExceededException(info);
                case "INTERNAL_ERROR": return new InternalErrorException(info);
                case "SERVICE_UNAVAILABLE": return new ServiceUnavailableException(info);
                default: break;
            }
        }
        switch (info.status()) {
            case 400: return new InvalidRequestException(info);
            case 401: return new UnauthorizedException(info);
            case 403: return new ForbiddenException(info);
            case 404: return new NotFoundException(info);
            case 405: return new MethodNotAllowedException(info);
            case 409: return new ConflictException(info);
            case 413: return new PayloadTooLargeException(info);
            case 422: return new UnprocessableException(info);
            case 429: return new RateLimitExceededException(info);
            case 500: return new InternalErrorException(info);
            case 503: return new ServiceUnavailableException(info);
            default: return info.status() >= 500 ? new ServerException(info) : new PaymentEngineException(info);
        }
    }
}
