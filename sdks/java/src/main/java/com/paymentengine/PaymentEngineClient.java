package com.paymentengine;

import com.paymentengine.internal.RetryPolicy;
import com.paymentengine.internal.Transport;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Payment Engine API, as the guide shows it:
 *
 * <pre>{@code
 * PaymentEngineClient client = new PaymentEngineClient.Builder()
 *     .apiKey(System.getenv("PAYMENT_ENGINE_API_KEY"))
 *     .baseUrl("https://api.payment-engine.com")
 *     .timeout(Duration.ofSeconds(30))
 *     .build();
 * Transaction transaction = client.transactions().create(request);
 * }</pre>
 *
 * Thread-safe; build one and share it. Every call has one deadline ({@code timeout}) covering its
 * retries and the whole answer; failures are unchecked {@link com.paymentengine.model.PaymentEngineException}s.
 */
public final class PaymentEngineClient implements AutoCloseable {
    public static final String VERSION = "1.0.0";
    public static final String DEFAULT_BASE_URL = "https://api.payment-engine.com";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Threads of the default executor of {@link #async()}, and the calls it queues at most. */
    public static final int ASYNC_THREADS = 16;
    public static final int ASYNC_QUEUE_MAX = 10_000;

    private final Transport transport;
    private final Transactions transactions;
    private final Accounts accounts;
    private final PaymentTypes paymentTypes;
    private final WebhookEndpoints webhookEndpoints;
    private final Events events;
    private final ApiKeys apiKeys;
    private final ExecutorService ownedExecutor;
    private final AsyncPaymentEngineClient async;

    private PaymentEngineClient(Builder builder) {
        HttpClient http = builder.httpClient != null ? builder.httpClient : HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(builder.timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        RetryPolicy policy = new RetryPolicy(builder.retries, builder.retryDelay, builder.retryDelayMax,
                builder.retryAfterMax);
        String userAgent = "payment-engine-sdk-java/" + VERSION + " java/" + System.getProperty("java.version");
        this.transport = new Transport(http, builder.baseUrl, builder.timeout, policy, builder.apiKey,
                builder.username, builder.password, userAgent);
        this.transactions = new Transactions(transport);
        this.accounts = new Accounts(transport);
        this.paymentTypes = new PaymentTypes(transport);
        this.webhookEndpoints = new WebhookEndpoints(transport);
        this.events = new Events(transport);
        this.apiKeys = new ApiKeys(transport);
        if (builder.executor != null) {
            this.ownedExecutor = null;
            this.async = new AsyncPaymentEngineClient(this, builder.executor);
        } else {
            this.ownedExecutor = defaultExecutor();
            this.async = new AsyncPaymentEngineClient(this, ownedExecutor);
        }
    }

    private static ExecutorService defaultExecutor() {
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(ASYNC_THREADS, ASYNC_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(ASYNC_QUEUE_MAX), runnable -> {
                    Thread thread = new Thread(runnable, "payment-engine-async-" + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    public Transactions transactions() {
        return transactions;
    }

    public Accounts accounts() {
        return accounts;
    }

    public PaymentTypes paymentTypes() {
        return paymentTypes;
    }

    public WebhookEndpoints webhookEndpoints() {
        return webhookEndpoints;
    }

    public Events events() {
        return events;
    }

    public ApiKeys apiKeys() {
        return apiKeys;
    }

    /** The same calls returning {@link java.util.concurrent.CompletableFuture}s, for services that must not block. */
    public AsyncPaymentEngineClient async() {
        return async;
    }

    /** Stops the default async executor's threads (they are daemons and time out by themselves too). */
    @Override
    public void close() {
        if (ownedExecutor != null) {
            ownedExecutor.shutdown();
        }
    }

    /** Configures a client; {@code apiKey} or {@code username} and {@code password} are required. */
    public static final class Builder {
        private String apiKey;
        private String username;
        private String password;
        private String baseUrl = DEFAULT_BASE_URL;
        private Duration timeout = DEFAULT_TIMEOUT;
        private int retries = 3;
        private Duration retryDelay = Duration.ofSeconds(1);
        private Duration retryDelayMax = Duration.ofSeconds(30);
        private Duration retryAfterMax = Duration.ofSeconds(60);
        private HttpClient httpClient;
        private java.util.concurrent.Executor executor;

        public Builder() {}

        /** Server-to-server authentication: sent as {@code X-API-Key}. */
        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        /** Logs in with these on first use and renews the session token by itself (refresh, or login again). */
        public Builder credentials(String username, String password) {
            this.username = username;
            this.password = password;
            return this;
        }

        /** {@code https://api.payment-engine.com} (the default), staging or sandbox; with or without {@code /api/v1}. */
        public Builder baseUrl(String baseUrl) {
            this.baseUrl = baseUrl;
            return this;
        }

        /** One deadline per call: every attempt, the waits between them and the whole answer. Default 30 s. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** How many times a failed call is tried again (0 to 10; default 3). */
        public Builder retries(int retries) {
            this.retries = retries;
            return this;
        }

        /** The first retry's wait before jitter, doubling per retry (default 1 s). */
        public Builder retryDelay(Duration retryDelay) {
            this.retryDelay = retryDelay;
            return this;
        }

        /** The longest wait between attempts (default 30 s). */
        public Builder retryDelayMax(Duration retryDelayMax) {
            this.retryDelayMax = retryDelayMax;
            return this;
        }

        /** A server's Retry-After above this is not waited out: the error is thrown (default 60 s). */
        public Builder retryAfterMax(Duration retryAfterMax) {
            this.retryAfterMax = retryAfterMax;
            return this;
        }

        /** Your own JDK HttpClient (proxy, TLS settings). */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = httpClient;
            return this;
        }

        /** Where {@link #async()} runs its calls (default: a bounded pool of daemon threads). */
        public Builder executor(java.util.concurrent.Executor executor) {
            this.executor = executor;
            return this;
        }

        public PaymentEngineClient build() {
            boolean hasKey = apiKey != null && !apiKey.isEmpty();
            boolean hasLogin = username != null && !username.isEmpty();
            if (hasKey == hasLogin) {
                throw new IllegalArgumentException("give an apiKey, or a username and password (one of them)");
            }
            if (hasLogin && (password == null || password.isEmpty())) {
                throw new IllegalArgumentException("a username needs its password");
            }
            Objects.requireNonNull(baseUrl, "baseUrl");
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            if (!hasKey) {
                apiKey = null;
            }
            return new PaymentEngineClient(this);
        }
    }
}
