package com.paymentengine;

import com.paymentengine.internal.Json;
import com.paymentengine.model.ErrorInfo;
import com.paymentengine.model.Event;
import com.paymentengine.model.WebhookSignatureException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checking that a webhook came from the engine. Verify the raw body exactly as received, not
 * JSON parsed and serialized again.
 *
 * <p>The guide's scheme: {@code X-Webhook-Signature: sha256=<hex HMAC-SHA256(body)>}, keyed with
 * the endpoint secret's UTF-8 bytes (the whole {@code whsec_…} string):
 *
 * <pre>{@code
 * if (!Webhooks.verify(rawBody, request.getHeader("X-Webhook-Signature"), secret)) { respond 401; }
 * }</pre>
 *
 * <p>Standard Webhooks ({@code webhook-id}, {@code webhook-timestamp}, {@code webhook-signature}):
 * key = the base64 after {@code whsec_}, signed content {@code <id>.<timestamp>.<body>}, the
 * timestamp within a tolerance of now. During a secret rotation pass both secrets; every
 * comparison is constant-time and every secret is tried, so timing tells nothing.
 */
public final class Webhooks {
    public static final String SIGNATURE_HEADER = "X-Webhook-Signature";
    public static final String SIGNATURE_PREVIOUS_HEADER = "X-Webhook-Signature-Previous";
    public static final String STANDARD_ID_HEADER = "webhook-id";
    public static final String STANDARD_TIMESTAMP_HEADER = "webhook-timestamp";
    public static final String STANDARD_SIGNATURE_HEADER = "webhook-signature";
    public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);
    static final String SCHEME = "sha256=";
    static final String SECRET_PREFIX = "whsec_";
    static final int SIGNATURE_LENGTH_MAX = 512;
    static final int STANDARD_SIGNATURES_MAX = 16;
    static final int SECRETS_MAX = 8;

    private Webhooks() {}

    /** Whether the guide's {@code X-Webhook-Signature} header was made from exactly this body with the secret. */
    public static boolean verify(String rawBody, String signatureHeader, String secret) {
        return verify(rawBody.getBytes(StandardCharsets.UTF_8), signatureHeader, List.of(secret));
    }

    public static boolean verify(byte[] rawBody, String signatureHeader, String secret) {
        return verify(rawBody, signatureHeader, List.of(secret));
    }

    /** As {@link #verify(String, String, String)}, accepting any of the secrets (rotation). */
    public static boolean verify(byte[] rawBody, String signatureHeader, List<String> secrets) {
        return match(rawBody, signatureHeader, secrets).isPresent();
    }

    /** The index of the secret that made the guide-scheme signature, if any. A missing or malformed header matches nothing. */
    public static OptionalInt match(byte[] rawBody, String signatureHeader, List<String> secrets) {
        checkSecrets(secrets);
        if (signatureHeader == null || signatureHeader.length() > SIGNATURE_LENGTH_MAX) {
            return OptionalInt.empty();
        }
        String offered = signatureHeader.strip();
        if (!offered.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return OptionalInt.empty();
        }
        byte[] offeredBytes = (SCHEME + offered.substring(SCHEME.length()).toLowerCase(Locale.ROOT))
                .getBytes(StandardCharsets.UTF_8);
        int matched = -1;
        for (int i = 0; i < secrets.size(); i++) {
            byte[] expected = (SCHEME + HexFormat.of().formatHex(
                    hmac(secrets.get(i).getBytes(StandardCharsets.UTF_8), rawBody))).getBytes(StandardCharsets.UTF_8);
            if (MessageDigest.isEqual(expected, offeredBytes) && matched < 0) {
                matched = i;
            }
        }
        return matched < 0 ? OptionalInt.empty() : OptionalInt.of(matched);
    }

    /** The {@code X-Webhook-Signature} value the engine sends for this body: {@code sha256=<hex>}. */
    public static String sign(String rawBody, String secret) {
        return SCHEME + HexFormat.of().formatHex(hmac(secret.getBytes(StandardCharsets.UTF_8),
                rawBody.getBytes(StandardCharsets.UTF_8)));
    }

    /** Verifies the guide-scheme signature, then reads the body as an {@link Event}; WebhookSignatureException when it does not match. */
    public static Event constructEvent(String rawBody, String signatureHeader, String secret) {
        if (!verify(rawBody, signatureHeader, secret)) {
            throw new WebhookSignatureException(ErrorInfo.local("Webhook signature does not match the payload and "
                    + "secret (verify the raw body with the endpoint's current secret)", "INVALID_SIGNATURE", null));
        }
        Object document;
        try {
            document = Json.parse(rawBody);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Webhook payload is not JSON", e);
        }
        return Event.fromJson(Resources.object(document, "an event"));
    }

    /** Standard Webhooks verification against the current time with a five-minute tolerance. */
    public static boolean verifyStandard(String rawBody, Map<String, String> headers, List<String> secrets) {
        return matchStandard(rawBody.getBytes(StandardCharsets.UTF_8), headers, secrets, DEFAULT_TOLERANCE,
                Instant.now()).isPresent();
    }

    /**
     * The index of the secret that made one of the {@code webhook-signature} entries, if the
     * timestamp is within {@code tolerance} of {@code now} (either way). Header names are matched
     * case-insensitively; entries other than {@code v1,} are ignored.
     */
    public static OptionalInt matchStandard(byte[] rawBody, Map<String, String> headers, List<String> secrets,
            Duration tolerance, Instant now) {
        checkSecrets(secrets);
        String id = header(headers, STANDARD_ID_HEADER);
        String timestamp = header(headers, STANDARD_TIMESTAMP_HEADER);
        String signatures = header(headers, STANDARD_SIGNATURE_HEADER);
        if (id == null || timestamp == null || signatures == null || signatures.length() > SIGNATURE_LENGTH_MAX * 4) {
            return OptionalInt.empty();
        }
        long seconds;
        try {
            if (!timestamp.strip().matches("[0-9]{1,12}")) {
                return OptionalInt.empty();
            }
            seconds = Long.parseLong(timestamp.strip());
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
        if (Math.abs(now.getEpochSecond() - seconds) > tolerance.getSeconds()) {
            return OptionalInt.empty();
        }
        byte[] prefix = (id + "." + seconds + ".").getBytes(StandardCharsets.UTF_8);
        byte[] signed = new byte[prefix.length + rawBody.length];
        System.arraycopy(prefix, 0, signed, 0, prefix.length);
        System.arraycopy(rawBody, 0, signed, prefix.length, rawBody.length);
        String[] entries = signatures.strip().split("\\s+", STANDARD_SIGNATURES_MAX + 1);
        int matched = -1;
        for (int i = 0; i < secrets.size(); i++) {
            byte[] key = standardKey(secrets.get(i));
            if (key == null || key.length == 0) {
                continue;
            }
            byte[] expected = ("v1," + Base64.getEncoder().encodeToString(hmac(key, signed)))
                    .getBytes(StandardCharsets.UTF_8);
            for (int e = 0; e < Math.min(entries.length, STANDARD_SIGNATURES_MAX); e++) {
                if (MessageDigest.isEqual(expected, entries[e].getBytes(StandardCharsets.UTF_8)) && matched < 0) {
                    matched = i;
                }
            }
        }
        return matched < 0 ? OptionalInt.empty() : OptionalInt.of(matched);
    }

    private static String header(Map<String, String> headers, String name) {
        for (Map.Entry<String, String> entry : headers.entrySet()) {
            if (entry.getKey() != null && entry.getKey().equalsIgnoreCase(name)) {
                return entry.getValue();
            }
        }
        return null;
    }

    private static byte[] standardKey(String secret) {
        String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
        try {
            return Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void checkSecrets(List<String> secrets) {
        if (secrets == null || secrets.isEmpty() || secrets.size() > SECRETS_MAX) {
            throw new IllegalArgumentException("give 1 to " + SECRETS_MAX + " webhook secrets");
        }
        for (String secret : secrets) {
            if (secret == null || secret.isEmpty()) {
                throw new IllegalArgumentException("a webhook secret must not be empty");
            }
        }
    }

    private static byte[] hmac(byte[] key, byte[] message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }
}
