package com.paymentengine.model;

import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A payment to create, built as the guide shows:
 *
 * <pre>{@code
 * CreateTransactionRequest request = CreateTransactionRequest.builder()
 *     .fromAccountId("acc_123").toAccountId("acc_456").paymentTypeId("wire_domestic")
 *     .amount(new BigDecimal("1000.00")).currencyCode("USD")
 *     .description("Invoice payment").metadata(Map.of("invoiceId", "INV-001"))
 *     .build();
 * }</pre>
 *
 * The amount is in major units, exactly as given; {@link Builder#build()} refuses an amount
 * with more decimals than its currency allows, so nothing is ever rounded on the way.
 */
public final class CreateTransactionRequest {
    private final String fromAccountId;
    private final String toAccountId;
    private final String paymentTypeId;
    private final BigDecimal amount;
    private final String currencyCode;
    private final String description;
    private final String externalReference;
    private final Map<String, Object> metadata;

    private CreateTransactionRequest(Builder builder) {
        this.fromAccountId = builder.fromAccountId;
        this.toAccountId = builder.toAccountId;
        this.paymentTypeId = builder.paymentTypeId;
        this.amount = builder.amount;
        this.currencyCode = builder.currencyCode == null ? null : builder.currencyCode.toUpperCase(Locale.ROOT);
        this.description = builder.description;
        this.externalReference = builder.externalReference;
        this.metadata = builder.metadata == null ? null
                : Collections.unmodifiableMap(new LinkedHashMap<>(builder.metadata));
    }

    public static Builder builder() {
        return new Builder();
    }

    public String getFromAccountId() {
        return fromAccountId;
    }

    public String getToAccountId() {
        return toAccountId;
    }

    public String getPaymentTypeId() {
        return paymentTypeId;
    }

    public BigDecimal getAmount() {
        return amount;
    }

    /** The currency, or null for the payer account's currency. */
    public String getCurrencyCode() {
        return currencyCode;
    }

    public String getDescription() {
        return description;
    }

    public String getExternalReference() {
        return externalReference;
    }

    public Map<String, Object> getMetadata() {
        return metadata == null ? Map.of() : metadata;
    }

    /** The request body: the API's field names, only the fields that are set. */
    public Map<String, Object> toJson() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("fromAccountId", fromAccountId);
        body.put("toAccountId", toAccountId);
        body.put("paymentTypeId", paymentTypeId);
        body.put("amount", amount);
        putIfSet(body, "currencyCode", currencyCode);
        putIfSet(body, "description", description);
        putIfSet(body, "externalReference", externalReference);
        if (metadata != null) {
            body.put("metadata", metadata);
        }
        return body;
    }

    private static void putIfSet(Map<String, Object> body, String name, String value) {
        if (value != null) {
            body.put(name, value);
        }
    }

    @Override
    public String toString() {
        return "CreateTransactionRequest{fromAccountId=" + fromAccountId + ", toAccountId=" + toAccountId
                + ", paymentTypeId=" + paymentTypeId + ", amount=" + (amount == null ? null : amount.toPlainString())
                + ", currencyCode=" + currencyCode + ", description=" + description
                + ", externalReference=" + externalReference + ", metadata=" + metadata + "}";
    }

    public static final class Builder {
        private String fromAccountId;
        private String toAccountId;
        private String paymentTypeId;
        private BigDecimal amount;
        private String currencyCode;
        private String description;
        private String externalReference;
        private Map<String, ?> metadata;

        private Builder() {}

        public Builder fromAccountId(String fromAccountId) {
            this.fromAccountId = fromAccountId;
            return this;
        }

        public Builder toAccountId(String toAccountId) {
            this.toAccountId = toAccountId;
            return this;
        }

        /** The rail: {@code rtp}, {@code ach_credit}, {@code wire_domestic}, … (see {@code paymentTypes().list()}). */
        public Builder paymentTypeId(String paymentTypeId) {
            this.paymentTypeId = paymentTypeId;
            return this;
        }

        /** In major units, exactly: {@code new BigDecimal("1000.00")}. */
        public Builder amount(BigDecimal amount) {
            this.amount = amount;
            return this;
        }

        /** ISO 4217; optional: without it the payer account's currency is used. */
        public Builder currencyCode(String currencyCode) {
            this.currencyCode = currencyCode;
            return this;
        }

        public Builder description(String description) {
            this.description = description;
            return this;
        }

        /** Your reference (an order id): payments can be listed by it. */
        public Builder externalReference(String externalReference) {
            this.externalReference = externalReference;
            return this;
        }

        /** Free-form JSON values (strings, numbers, booleans, lists, maps) kept with the payment. */
        public Builder metadata(Map<String, ?> metadata) {
            this.metadata = metadata;
            return this;
        }

        /**
         * The request; NullPointerException when an account, the payment type or the amount is
         * missing, IllegalArgumentException when the amount has more decimals than its currency.
         */
        public CreateTransactionRequest build() {
            Objects.requireNonNull(fromAccountId, "fromAccountId");
            Objects.requireNonNull(toAccountId, "toAccountId");
            Objects.requireNonNull(paymentTypeId, "paymentTypeId");
            Objects.requireNonNull(amount, "amount");
            Currencies.checkScale(amount, currencyCode, "amount");
            return new CreateTransactionRequest(this);
        }
    }
}
