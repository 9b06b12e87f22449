package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.model.Account;
import com.paymentengine.model.ApiKey;
import com.paymentengine.model.Balance;
import com.paymentengine.model.BatchCreateTransactionsResult;
import com.paymentengine.model.BatchItemError;
import com.paymentengine.model.BatchTransactionItem;
import com.paymentengine.model.BatchTransactionResult;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.CreatedApiKey;
import com.paymentengine.model.DeletedWebhookEndpoint;
import com.paymentengine.model.Event;
import com.paymentengine.model.Funding;
import com.paymentengine.model.LedgerEntry;
import com.paymentengine.model.PaymentType;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionStatus;
import com.paymentengine.model.WebhookDelivery;
import com.paymentengine.model.WebhookDeliveryAttempt;
import com.paymentengine.model.WebhookEndpoint;
import com.paymentengine.model.WebhookTestResult;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The SDK against the one contract, gateway/openapi/openapi.json: a field the API answers that
 * a model has no getter for, a request field the SDK cannot send, or a new answer type the SDK
 * does not model fails the build.
 */
class OpenApiContractTest {
    static final String CONTRACT = "gateway/openapi/openapi.json";

    /** Answer definitions and the model that reads them. */
    static final Map<String, Class<?>> MODELS = Map.ofEntries(
            Map.entry("v1Transaction", Transaction.class),
            Map.entry("v1GetTransactionStatusResponse", TransactionStatus.class),
            Map.entry("v1GetBalanceResponse", Balance.class),
            Map.entry("v1Account", Account.class),
            Map.entry("v1Entry", LedgerEntry.class),
            Map.entry("v1Event", Event.class),
            Map.entry("v1WebhookEndpoint", WebhookEndpoint.class),
            Map.entry("v1WebhookDelivery", WebhookDelivery.class),
            Map.entry("v1WebhookDeliveryAttempt", WebhookDeliveryAttempt.class),
            Map.entry("v1TestWebhookEndpointResponse", WebhookTestResult.class),
            Map.entry("v1DeleteWebhookEndpointResponse", DeletedWebhookEndpoint.class),
            Map.entry("v1ApiKey", ApiKey.class),
            Map.entry("v1CreateApiKeyResponse", CreatedApiKey.class),
            Map.entry("v1RotateApiKeyResponse", CreatedApiKey.class),
            Map.entry("v1PaymentType", PaymentType.class),
            Map.entry("v1FundAccountResponse", Funding.class),
            Map.entry("v1BatchCreateTransactionsResponse", BatchCreateTransactionsResult.class),
            Map.entry("v1BatchTransactionResult", BatchTransactionResult.class),
            Map.entry("v1BatchItemError", BatchItemError.class));

    /** Answer definitions the SDK deliberately reads without a model of their own, and why. */
    static final Map<String, String> NOT_MODELED = Map.ofEntries(
            Map.entry("v1LoginResponse", "the session tokens stay inside the client"),
            Map.entry("v1RefreshResponse", "the session tokens stay inside the client"),
            Map.entry("v1LogoutResponse", "not exposed: sessions end when the client is dropped"),
            Map.entry("v1GetMeResponse", "identity endpoint, not part of the guide's SDK surface"),
            Map.entry("v1Principal", "part of v1GetMeResponse"),
            Map.entry("v1Tenant", "part of v1GetMeResponse"),
            Map.entry("v1GetJwksResponse", "service-to-service key discovery, not a client call"),
            Map.entry("v1JsonWebKey", "part of v1GetJwksResponse"),
            Map.entry("v1ListDebitAuthorizationsResponse", "debit authorizations are not in the Java SDK yet"),
            Map.entry("v1DebitAuthorization", "debit authorizations are not in the Java SDK yet"),
            Map.entry("v1GetApiKeyResponse", "a wrapper: apiKeys().get reads its apiKey"),
            Map.entry("v1RevokeApiKeyResponse", "a wrapper: apiKeys().revoke reads its apiKey"),
            Map.entry("v1RedeliverEventResponse", "events().redeliver returns its deliveries list"),
            Map.entry("v1ListPaymentTypesResponse", "paymentTypes().list returns its paymentTypes list"),
            Map.entry("v1ListTransactionsResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListAccountsResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListEntriesResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListEventsResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListApiKeysResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListWebhookEndpointsResponse", "a page, read by PagedIterable"),
            Map.entry("v1ListWebhookDeliveriesResponse", "a page, read by PagedIterable"));

    static Map<String, Object> definitions;

    @SuppressWarnings("unchecked")
    static Map<String, Object> definitions() throws Exception {
        if (definitions == null) {
            definitions = (Map<String, Object>) RepoFiles.json(CONTRACT).get("definitions");
        }
        return definitions;
    }

    @SuppressWarnings("unchecked")
    static Set<String> properties(String definition) throws Exception {
        Map<String, Object> schema = (Map<String, Object>) definitions().get(definition);
        assertTrue(schema != null, CONTRACT + " has no definition " + definition);
        Map<String, Object> properties = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
        return new TreeSet<>(properties.keySet());
    }

    static boolean hasGetter(Class<?> type, String property) {
        String name = Character.toUpperCase(property.charAt(0)) + property.substring(1);
        for (Method method : type.getMethods()) {
            if (Modifier.isPublic(method.getModifiers()) && method.getParameterCount() == 0
                    && (method.getName().equals("get" + name) || method.getName().equals("is" + name))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void everyAnsweredFieldHasAGetter() throws Exception {
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Class<?>> entry : MODELS.entrySet()) {
            for (String property : properties(entry.getKey())) {
                if (!hasGetter(entry.getValue(), property)) {
                    missing.add(entry.getValue().getSimpleName() + " lacks " + entry.getKey() + "." + property);
                }
            }
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
    }

    @Test
    void everyPaymentRequestFieldCanBeSent() throws Exception {
        CreateTransactionRequest full = CreateTransactionRequest.builder().fromAccountId("a").toAccountId("b")
                .paymentTypeId("rtp").amount(new BigDecimal("1.00")).currencyCode("USD").description("d")
                .externalReference("r").metadata(Map.of("k", "v")).build();
        List<String> missing = new ArrayList<>();
        for (String property : properties("v1CreateTransactionRequest")) {
            if (!full.toJson().containsKey(property)) {
                missing.add("CreateTransactionRequest cannot send " + property);
            }
        }
        Map<String, Object> item = BatchTransactionItem.of(full, "key").toJson();
        for (String property : properties("v1BatchTransactionItem")) {
            if (!item.containsKey(property)) {
                missing.add("BatchTransactionItem cannot send " + property);
            }
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
    }

    @SuppressWarnings("unchecked")
    @Test
    void everyAnswerTypeIsModeledOrDeliberatelyNot() throws Exception {
        Map<String, Object> paths = (Map<String, Object>) RepoFiles.json(CONTRACT).get("paths");
        Set<String> reachable = new TreeSet<>();
        for (Map.Entry<String, Object> path : paths.entrySet()) {
            if (!path.getKey().startsWith("/api/v1/")) {
                continue;
            }
            for (Object operation : ((Map<String, Object>) path.getValue()).values()) {
                if (!(operation instanceof Map)) {
                    continue;
                }
                Map<String, Object> responses = (Map<String, Object>) ((Map<String, Object>) operation)
                        .getOrDefault("responses", Map.of());
                for (Map.Entry<String, Object> response : responses.entrySet()) {
                    if (response.getKey().startsWith("2")) {
                        collect(((Map<String, Object>) response.getValue()).get("schema"), reachable);
                    }
                }
            }
        }
        List<String> unknown = new ArrayList<>();
        for (String definition : reachable) {
            if (!MODELS.containsKey(definition) && !NOT_MODELED.containsKey(definition) && !properties(definition).isEmpty()) {
                unknown.add(definition);
            }
        }
        assertTrue(unknown.isEmpty(), "answer types the Java SDK does not model: " + unknown);
    }

    @SuppressWarnings("unchecked")
    static void collect(Object schema, Set<String> seen) throws Exception {
        if (!(schema instanceof Map)) {
            return;
        }
        Map<String, Object> map = (Map<String, Object>) schema;
        Object ref = map.get("$ref");
        if (ref instanceof String) {
            String name = ((String) ref).substring(((String) ref).lastIndexOf('/') + 1);
            if (name.startsWith("protobuf") || !seen.add(name)) {
                return;
            }
            collect(definitions().get(name), seen);
            return;
        }
        collect(map.get("items"), seen);
        Object properties = map.get("properties");
        if (properties instanceof Map) {
            for (Object property : ((Map<String, Object>) properties).values()) {
                collect(property, seen);
            }
        }
    }
}
