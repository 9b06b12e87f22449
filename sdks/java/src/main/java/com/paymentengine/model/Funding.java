package com.paymentengine.model;

import java.util.Map;

/** The answer to funding a sandbox account: its new balance. */
public final class Funding {
    private final String journalEntryId;
    private final Balance balance;

    private Funding(Fields f) {
        this.journalEntryId = f.string("journalEntryId");
        this.balance = f.nested("balance") == null ? null : Balance.fromJson(f.nested("balance"));
    }

    /** Reads the API's JSON object (as decoded by the SDK). */
    public static Funding fromJson(Map<String, ?> json) {
        return new Funding(Fields.of(json, "Funding"));
    }

    public String getJournalEntryId() {
        return journalEntryId;
    }

    public Balance getBalance() {
        return balance;
    }


    @Override
    public String toString() {
        return "Funding{"
                + "journalEntryId=" + journalEntryId
                + ", balance=" + balance
                + "}";
    }
}
