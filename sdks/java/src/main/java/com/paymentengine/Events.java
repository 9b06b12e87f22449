package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.Event;
import com.paymentengine.model.EventQuery;
import com.paymentengine.model.WebhookDelivery;
import java.util.ArrayList;
import java.util.List;

/** {@code client.events()}: what happened, as webhooks deliver it. */
public final class Events {
    static final String PATH = "/api/v1/events";

    private final Transport transport;

    Events(Transport transport) {
        this.transport = transport;
    }

    public Event get(String eventId) {
        return transport.request(Operation.get(PATH + "/" + Transport.segment(eventId, "eventId"),
                Resources.reader(Event::fromJson, "an event")));
    }

    public PagedIterable<Event> list() {
        return list(EventQuery.builder());
    }

    public PagedIterable<Event> list(EventQuery query) {
        return Pages.of(transport, PATH, query.toQuery(), "events", Event::fromJson, query.getPageSize(),
                query.getLimit());
    }

    /**
     * Delivers the event again (to one endpoint, or to every subscribed one when {@code endpointId}
     * is null). Each call queues one more delivery: not repeated after an ambiguous failure.
     */
    public List<WebhookDelivery> redeliver(String eventId, String endpointId) {
        return transport.request(Operation.post(PATH + "/" + Transport.segment(eventId, "eventId") + ":redeliver",
                Resources.compact("endpointId", endpointId), document -> {
                    Object items = Resources.object(document, "a redelivery").get("deliveries");
                    List<WebhookDelivery> deliveries = new ArrayList<>();
                    if (items instanceof List) {
                        for (Object item : (List<?>) items) {
                            deliveries.add(WebhookDelivery.fromJson(Resources.object(item, "a delivery")));
                        }
                    }
                    return List.copyOf(deliveries);
                }, null).notRetrySafe());
    }
}
