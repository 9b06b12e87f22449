package com.paymentengine;

import java.time.Duration;

/** The real engine the live tests run against: PE_BASE_URL, PE_API_KEY, PE_USERNAME, PE_PASSWORD. */
final class LiveEngine {
    private LiveEngine() {}

    static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException(name + " is not set: live tests need a running engine");
        }
        return value;
    }

    static String baseUrl() {
        return env("PE_BASE_URL");
    }

    static PaymentEngineClient apiKeyClient() {
        return new PaymentEngineClient.Builder().apiKey(env("PE_API_KEY")).baseUrl(baseUrl())
                .timeout(Duration.ofSeconds(30)).build();
    }

    static PaymentEngineClient sessionClient() {
        return new PaymentEngineClient.Builder().credentials(env("PE_USERNAME"), env("PE_PASSWORD"))
                .baseUrl(baseUrl()).timeout(Duration.ofSeconds(30)).build();
    }
}
