package com.paymentengine.model;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

/** A payment rail ({@code rtp}, {@code ach_credit}, {@code wire_domestic}, …) and its limits. */
public final class PaymentType {
    private final String id;
    private final String name;
    private final String settlement;
    private final List<String> currencies;
    private final BigDecimal minAmount;
    private final BigDecimal maxAmount;
    private final String cutoffTime;
    private final String expectedProcessingTime;
    private final int expectedProcessingSeconds;

    private PaymentType(Fields f) {
        this.id = f.string("id");
        this.name = f.string("name");
        this.settlement = f.string("settlement");
        this.currencies = f.strings("currencies");
        this.minAmount = f.decimal("minAmount");
        this.maxAmount = f.decimal("maxAmount");
        this.cutoffTime = f.string("cutoffTime");
        this.expectedProcessingTime = f.string("expectedProcessingTime");
        this.expectedProcessingSeconds = f.integerOr("expectedProcessingSeconds", 0);
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static PaymentType fromJson(Map<String, ?> json) {
        return new PaymentType(Fields.of(json, "PaymentType"));
    }

    public String getId() {
        return id;
    }

    public String getName() {
        return name;
    }

    public String getSettlement() {
        return settlement;
    }

    public List<String> getCurrencies() {
        return currencies;
    }

    public BigDecimal getMinAmount() {
        return minAmount;
    }

    public BigDecimal getMaxAmount() {
        return maxAmount;
    }

    public String getCutoffTime() {
        return cutoffTime;
    }

    public String getExpectedProcessingTime() {
        return expectedProcessingTime;
    }

    public int getExpectedProcessingSeconds() {
        return expectedProcessingSeconds;
    }


    @Override
    public String toString() {
        return "PaymentType{"
                + "id=" + id
                + ", name=" + name
                + ", settlement=" + settlement
                + ", currencies=" + currencies
                + ", minAmount=" + minAmount
                + ", maxAmount=" + maxAmount
                + ", cutoffTime=" + cutoffTime
                + ", expectedProcessingTime=" + expectedProcessingTime
                + ", expectedProcessingSeconds=" + expectedProcessingSeconds
                + "}";
    }
}
