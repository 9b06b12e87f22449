package com.paymentengine.model;

import java.util.Map;

/** The answer to deleting a webhook endpoint. */
public final class DeletedWebhookEndpoint {
    private final String id;
    private final boolean deleted;

    private DeletedWebhookEndpoint(Fields f) {
        this.id = f.string("id");
        this.deleted = Boolean.TRUE.equals(f.bool("deleted"));
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static DeletedWebhookEndpoint fromJson(Map<String, ?> json) {
        return new DeletedWebhookEndpoint(Fields.of(json, "DeletedWebhookEndpoint"));
    }

    public String getId() {
        return id;
    }

    public boolean isDeleted() {
        return deleted;
    }


    @Override
    public String toString() {
        return "DeletedWebhookEndpoint{"
                + "id=" + id
                + ", deleted=" + deleted
                + "}";
    }
}
