package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.Account;
import com.paymentengine.model.AccountQuery;
import com.paymentengine.model.Balance;
import com.paymentengine.model.Funding;
import com.paymentengine.model.LedgerEntry;
import java.math.BigDecimal;
import java.util.Map;
import java.util.Objects;

/** {@code client.accounts()}: accounts, their balances and ledger entries. */
public final class Accounts {
    static final String PATH = "/api/v1/accounts";
    static final String SANDBOX_PATH = "/api/v1/sandbox/accounts";

    private final Transport transport;

    Accounts(Transport transport) {
        this.transport = transport;
    }

    private static String path(String accountId) {
        return PATH + "/" + Transport.segment(accountId, "accountId");
    }

    /** Opens an account. Not repeated after an ambiguous failure: the engine does not deduplicate it. */
    public Account create(String name, String currencyCode, Map<String, ?> metadata) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(currencyCode, "currencyCode");
        return transport.request(Operation.post(PATH, Resources.compact("name", name, "currencyCode", currencyCode,
                "metadata", metadata), Resources.reader(Account::fromJson, "an account"), null).notRetrySafe());
    }

    public Account get(String accountId) {
        return transport.request(Operation.get(path(accountId), Resources.reader(Account::fromJson, "an account")));
    }

    /** Available, current and held balances, as of now. */
    public Balance getBalance(String accountId) {
        return transport.request(Operation.get(path(accountId) + "/balance",
                Resources.reader(Balance::fromJson, "a balance")));
    }

    public PagedIterable<Account> list() {
        return list(AccountQuery.builder());
    }

    public PagedIterable<Account> list(AccountQuery query) {
        return Pages.of(transport, PATH, query.toQuery(), "accounts", Account::fromJson, query.getPageSize(),
                query.getLimit());
    }

    /** The account's ledger, newest first. */
    public PagedIterable<LedgerEntry> entries(String accountId) {
        return Pages.of(transport, path(accountId) + "/entries", Map.of(), "entries", LedgerEntry::fromJson, null, null);
    }

    // A repeat of a status change is refused (the account already has it), so an ambiguous
    // failure is thrown rather than retried into a misleading INVALID_ACCOUNT_STATUS.
    public Account freeze(String accountId) {
        return statusChange(accountId, "freeze");
    }

    public Account unfreeze(String accountId) {
        return statusChange(accountId, "unfreeze");
    }

    public Account close(String accountId) {
        return statusChange(accountId, "close");
    }

    private Account statusChange(String accountId, String verb) {
        return transport.request(Operation.post(path(accountId) + ":" + verb, Map.of(),
                Resources.reader(Account::fromJson, "an account"), null).notRetrySafe());
    }

    /** Sandbox only: credits test money to an account. */
    public Funding fund(String accountId, BigDecimal amount, String description) {
        Objects.requireNonNull(amount, "amount");
        return transport.request(Operation.post(SANDBOX_PATH + "/" + Transport.segment(accountId, "accountId") + ":fund",
                Resources.compact("amount", amount, "description", description),
                Resources.reader(Funding::fromJson, "a funding"), null).notRetrySafe());
    }
}
