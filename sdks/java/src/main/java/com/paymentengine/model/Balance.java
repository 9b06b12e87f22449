package com.paymentengine.model;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** An account's balances at {@code asOf}: available = current - held. */
public final class Balance {
    private final String accountId;
    private final BigDecimal availableBalance;
    private final BigDecimal currentBalance;
    private final BigDecimal heldBalance;
    private final String currencyCode;
    private final Instant asOf;

    private Balance(Fields f) {
        this.accountId = f.string("accountId");
        this.availableBalance = f.amount("availableBalance", f.string("currencyCode"));
        this.currentBalance = f.amount("currentBalance", f.string("currencyCode"));
        this.heldBalance = f.amount("heldBalance", f.string("currencyCode"));
        this.currencyCode = f.string("currencyCode");
        this.asOf = f.instant("asOf");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static Balance fromJson(Map<String, ?> json) {
        return new Balance(Fields.of(json, "Balance"));
    }

    public String getAccountId() {
        return accountId;
    }

    public BigDecimal getAvailableBalance() {
        return availableBalance;
    }

    public BigDecimal getCurrentBalance() {
        return currentBalance;
    }

    public BigDecimal getHeldBalance() {
        return heldBalance;
    }

    public String getCurrencyCode() {
        return currencyCode;
    }

    public Instant getAsOf() {
        return asOf;
    }


    @Override
    public String toString() {
        return "Balance{"
                + "accountId=" + accountId
                + ", availableBalance=" + availableBalance
                + ", currentBalance=" + currentBalance
                + ", heldBalance=" + heldBalance
                + ", currencyCode=" + currencyCode
                + ", asOf=" + asOf
                + "}";
    }
}
