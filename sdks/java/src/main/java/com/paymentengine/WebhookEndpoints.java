package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.DeletedWebhookEndpoint;
import com.paymentengine.model.WebhookDelivery;
import com.paymentengine.model.WebhookEndpoint;
import com.paymentengine.model.WebhookTestResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** {@code client.webhookEndpoints()}: where events are delivered, and their deliveries. */
public final class WebhookEndpoints {
    static final String PATH = "/api/v1/webhook-endpoints";

    private final Transport transport;

    WebhookEndpoints(Transport transport) {
        this.transport = transport;
    }

    private static String path(String endpointId) {
        return PATH + "/" + Transport.segment(endpointId, "endpointId");
    }

    private static java.util.function.Function<Object, WebhookEndpoint> reader() {
        return Resources.reader(WebhookEndpoint::fromJson, "a webhook endpoint");
    }

    /** Registers an endpoint; an empty or null {@code eventTypes} subscribes to every event type. The answer carries the signing secret. */
    public WebhookEndpoint create(String url, List<String> eventTypes, String description) {
        Objects.requireNonNull(url, "url");
        return transport.request(Operation.post(PATH,
                Resources.compact("url", url, "eventTypes", eventTypes, "description", description), reader(), null)
                .notRetrySafe());
    }

    public WebhookEndpoint get(String endpointId) {
        return transport.request(Operation.get(path(endpointId), reader()));
    }

    public PagedIterable<WebhookEndpoint> list() {
        return Pages.of(transport, PATH, Map.of(), "endpoints", WebhookEndpoint::fromJson, null, null);
    }

    /** Changes only the fields given (not null); {@code eventTypes} empty resets to every event type. */
    public WebhookEndpoint update(String endpointId, String url, String description, List<String> eventTypes) {
        Map<String, Object> changes = Resources.compact("url", url, "description", description, "eventTypes",
                eventTypes);
        if (changes.isEmpty()) {
            throw new IllegalArgumentException("give at least one of url, description, eventTypes");
        }
        Map<String, String> query = new LinkedHashMap<>();
        query.put("updateMask", String.join(",", changes.keySet()));
        return transport.request(Operation.post(path(endpointId), changes, reader(), null).withMethod("PATCH")
                .withQuery(query));
    }

    /** Deletes the endpoint. A repeat answers NOT_FOUND: not retried after an ambiguous failure. */
    public DeletedWebhookEndpoint delete(String endpointId) {
        return transport.request(Operation.get(path(endpointId),
                Resources.reader(DeletedWebhookEndpoint::fromJson, "a deletion")).withMethod("DELETE").notRetrySafe());
    }

    /** A new secret; the previous one keeps working for {@code overlapSeconds} (null: the engine's default). */
    public WebhookEndpoint rotateSecret(String endpointId, Integer overlapSeconds) {
        return transport.request(Operation.post(path(endpointId) + ":rotateSecret",
                Resources.compact("overlapSeconds", overlapSeconds), reader(), null).notRetrySafe());
    }

    /** Stops deliveries to the endpoint until it is enabled again; they wait meanwhile. */
    public WebhookEndpoint disable(String endpointId, String reason) {
        return transport.request(Operation.post(path(endpointId) + ":disable",
                Resources.compact("reason", reason), reader(), null));
    }

    /** Enables an endpoint that was disabled, by hand or after repeated failures. */
    public WebhookEndpoint enable(String endpointId) {
        return transport.request(Operation.post(path(endpointId) + ":enable", Map.of(), reader(), null));
    }

    /** Sends a test event to the endpoint now. */
    public WebhookTestResult test(String endpointId) {
        return transport.request(Operation.post(path(endpointId) + ":test", Map.of(),
                Resources.reader(WebhookTestResult::fromJson, "a webhook test"), null).notRetrySafe());
    }

    /** The endpoint's deliveries, newest first. */
    public PagedIterable<WebhookDelivery> deliveries(String endpointId) {
        return Pages.of(transport, path(endpointId) + "/deliveries", Map.of(), "deliveries",
                WebhookDelivery::fromJson, null, null);
    }
}
