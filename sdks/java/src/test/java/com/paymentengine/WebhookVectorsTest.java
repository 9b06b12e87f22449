package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.model.Event;
import com.paymentengine.model.WebhookSignatureException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The shared vectors of sdks/test-vectors/webhook-signatures.json, run by every SDK. */
class WebhookVectorsTest {
    static final String VECTORS = "sdks/test-vectors/webhook-signatures.json";

    @SuppressWarnings("unchecked")
    @TestFactory
    Stream<DynamicTest> sharedVectors() throws Exception {
        Map<String, Object> document = RepoFiles.json(VECTORS);
        assertEquals(1L, document.get("version"));
        List<Map<String, Object>> vectors = (List<Map<String, Object>>) document.get("vectors");
        assertFalse(vectors.isEmpty());
        List<DynamicTest> tests = new ArrayList<>();
        for (Map<String, Object> vector : vectors) {
            tests.add(DynamicTest.dynamicTest((String) vector.get("name"), () -> check(vector)));
        }
        return tests.stream();
    }

    @SuppressWarnings("unchecked")
    static void check(Map<String, Object> vector) {
        byte[] body = ((String) vector.get("body")).getBytes(StandardCharsets.UTF_8);
        List<String> secrets = (List<String>) vector.get("secrets");
        Map<String, String> headers = (Map<String, String>) vector.get("headers");
        boolean valid = (Boolean) vector.get("valid");
        OptionalInt matched;
        switch ((String) vector.get("scheme")) {
            case "x-webhook-signature":
                matched = Webhooks.match(body, headerIgnoringCase(headers, "X-Webhook-Signature"), secrets);
                if (secrets.size() == 1) {
                    assertEquals(valid, Webhooks.verify((String) vector.get("body"),
                            headerIgnoringCase(headers, "X-Webhook-Signature"), secrets.get(0)));
                }
                break;
            case "standard-webhooks":
                matched = Webhooks.matchStandard(body, headers, secrets,
                        Duration.ofSeconds((Long) vector.get("toleranceSeconds")),
                        Instant.ofEpochSecond((Long) vector.get("now")));
                break;
            default:
                throw new AssertionError("unknown scheme " + vector.get("scheme"));
        }
        assertEquals(valid, matched.isPresent(), "valid");
        if (valid && vector.get("matchedSecretIndex") != null) {
            assertEquals(((Long) vector.get("matchedSecretIndex")).intValue(), matched.getAsInt(), "matchedSecretIndex");
        }
    }

    /** The vectors name headers in lower case; a server hands them over in any case. */
    static String headerIgnoringCase(Map<String, String> headers, String name) {
        for (Map.Entry<String, String> entry : headers.entrySet()) {
            if (entry.getKey().equalsIgnoreCase(name)) {
                return entry.getValue();
            }
        }
        return null;
    }

    @Test
    void standardHeadersAreMatchedInAnyCase() {
        String secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        String body = "{\"eventId\":\"evt_1\"}";
        long now = 1_765_000_000L;
        String signature = "v1," + java.util.Base64.getEncoder().encodeToString(hmac(
                java.util.Base64.getDecoder().decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                ("evt_1." + now + "." + body).getBytes(StandardCharsets.UTF_8)));
        Map<String, String> headers = Map.of("Webhook-Id", "evt_1", "WEBHOOK-TIMESTAMP", Long.toString(now),
                "Webhook-Signature", signature);
        assertTrue(Webhooks.matchStandard(body.getBytes(StandardCharsets.UTF_8), headers, List.of(secret),
                Duration.ofMinutes(5), Instant.ofEpochSecond(now)).isPresent());
    }

    @Test
    void constructEventVerifiesThenReads() {
        String secret = "whsec_test";
        String body = "{\"eventId\":\"evt_1\",\"eventType\":\"transaction.completed\",\"data\":{\"transactionId\":\"t\"}}";
        Event event = Webhooks.constructEvent(body, Webhooks.sign(body, secret), secret);
        assertEquals("transaction.completed", event.getEventType());
        assertEquals("t", event.getData().get("transactionId"));
        assertThrows(WebhookSignatureException.class,
                () -> Webhooks.constructEvent(body + " ", Webhooks.sign(body, secret), secret));
    }

    static byte[] hmac(byte[] key, byte[] message) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
