package com.paymentengine.model;

import java.util.Map;

/** The test event sent to an endpoint and its delivery. */
public final class WebhookTestResult {
    private final Event event;
    private final WebhookDelivery delivery;

    private WebhookTestResult(Fields f) {
        this.event = f.nested("event") == null ? null : Event.fromJson(f.nested("event"));
        this.delivery = f.nested("delivery") == null ? null : WebhookDelivery.fromJson(f.nested("delivery"));
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static WebhookTestResult fromJson(Map<String, ?> json) {
        return new WebhookTestResult(Fields.of(json, "WebhookTestResult"));
    }

    public Event getEvent() {
        return event;
    }

    public WebhookDelivery getDelivery() {
        return delivery;
    }


    @Override
    public String toString() {
        return "WebhookTestResult{"
                + "event=" + event
                + ", delivery=" + delivery
                + "}";
    }
}
