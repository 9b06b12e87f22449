package com.paymentengine.model;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** One line of an account's ledger: a DEBIT or CREDIT and the balance after it. */
public final class LedgerEntry {
    private final String id;
    private final String journalEntryId;
    private final String transactionId;
    private final String direction;
    private final BigDecimal amount;
    private final String currencyCode;
    private final BigDecimal runningBalance;
    private final String description;
    private final Instant createdAt;

    private LedgerEntry(Fields f) {
        this.id = f.string("id");
        this.journalEntryId = f.string("journalEntryId");
        this.transactionId = f.string("transactionId");
        this.direction = f.string("direction");
        this.amount = f.amount("amount", f.string("currencyCode"));
        this.currencyCode = f.string("currencyCode");
        this.runningBalance = f.amount("runningBalance", f.string("currencyCode"));
        this.description = f.string("description");
        this.createdAt = f.instant("createdAt");
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static LedgerEntry fromJson(Map<String, ?> json) {
        return new LedgerEntry(Fields.of(json, "LedgerEntry"));
    }

    public String getId() {
        return id;
    }

    public String getJournalEntryId() {
        return journalEntryId;
    }

    public String getTransactionId() {
        return transactionId;
    }

    public String getDirection() {
        return direction;
    }

    public BigDecimal getAmount() {
        return amount;
    }

    public String getCurrencyCode() {
        return currencyCode;
    }

    public BigDecimal getRunningBalance() {
        return runningBalance;
    }

    public String getDescription() {
        return description;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }


    @Override
    public String toString() {
        return "LedgerEntry{"
                + "id=" + id
                + ", journalEntryId=" + journalEntryId
                + ", transactionId=" + transactionId
                + ", direction=" + direction
                + ", amount=" + amount
                + ", currencyCode=" + currencyCode
                + ", runningBalance=" + runningBalance
                + ", description=" + description
                + ", createdAt=" + createdAt
                + "}";
    }
}
