package com.paymentengine;

import com.paymentengine.model.Account;
import com.paymentengine.model.Balance;
import com.paymentengine.model.BatchCreateTransactionsResult;
import com.paymentengine.model.BatchTransactionItem;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.Event;
import com.paymentengine.model.PaymentType;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionStatus;
import com.paymentengine.model.WebhookEndpoint;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * {@code client.async()}: the client's calls as {@link CompletableFuture}s, run on the client's
 * executor with the same retries, deadline and idempotency as the blocking calls. A failure
 * completes the future exceptionally with the call's {@link com.paymentengine.model.PaymentEngineException}
 * (wrapped in a {@link java.util.concurrent.CompletionException} by {@code join()}).
 */
public final class AsyncPaymentEngineClient {
    private final PaymentEngineClient client;
    private final Executor executor;
    private final AsyncTransactions transactions = new AsyncTransactions();
    private final AsyncAccounts accounts = new AsyncAccounts();

    AsyncPaymentEngineClient(PaymentEngineClient client, Executor executor) {
        this.client = client;
        this.executor = executor;
    }

    /** Any call of the blocking client, run asynchronously: {@code async().call(c -> c.events().get(id))}. */
    public <T> CompletableFuture<T> call(Function<PaymentEngineClient, T> call) {
        return CompletableFuture.supplyAsync(() -> call.apply(client), executor);
    }

    public AsyncTransactions transactions() {
        return transactions;
    }

    public AsyncAccounts accounts() {
        return accounts;
    }

    public CompletableFuture<List<PaymentType>> paymentTypes() {
        return call(c -> c.paymentTypes().list());
    }

    public CompletableFuture<Event> event(String eventId) {
        return call(c -> c.events().get(eventId));
    }

    public CompletableFuture<WebhookEndpoint> webhookEndpoint(String endpointId) {
        return call(c -> c.webhookEndpoints().get(endpointId));
    }

    /** The asynchronous {@link Transactions}. */
    public final class AsyncTransactions {
        private AsyncTransactions() {}

        public CompletableFuture<Transaction> create(CreateTransactionRequest request) {
            return call(c -> c.transactions().create(request));
        }

        public CompletableFuture<Transaction> create(CreateTransactionRequest request, String idempotencyKey) {
            return call(c -> c.transactions().create(request, idempotencyKey));
        }

        public CompletableFuture<Transaction> get(String transactionId) {
            return call(c -> c.transactions().get(transactionId));
        }

        public CompletableFuture<TransactionStatus> getStatus(String transactionId) {
            return call(c -> c.transactions().getStatus(transactionId));
        }

        public CompletableFuture<Transaction> cancel(String transactionId) {
            return call(c -> c.transactions().cancel(transactionId));
        }

        public CompletableFuture<BatchCreateTransactionsResult> createBatch(List<BatchTransactionItem> items,
                boolean atomic) {
            return call(c -> c.transactions().createBatch(items, atomic));
        }

        public CompletableFuture<TransactionStatus> waitForCompletion(String transactionId) {
            return call(c -> c.transactions().waitForCompletion(transactionId));
        }

        public CompletableFuture<TransactionStatus> waitForCompletion(String transactionId, Duration timeout,
                Duration pollInterval) {
            return call(c -> c.transactions().waitForCompletion(transactionId, timeout, pollInterval));
        }
    }

    /** The asynchronous {@link Accounts}. */
    public final class AsyncAccounts {
        private AsyncAccounts() {}

        public CompletableFuture<Account> get(String accountId) {
            return call(c -> c.accounts().get(accountId));
        }

        public CompletableFuture<Balance> getBalance(String accountId) {
            return call(c -> c.accounts().getBalance(accountId));
        }

        public CompletableFuture<Account> create(String name, String currencyCode, Map<String, ?> metadata) {
            return call(c -> c.accounts().create(name, currencyCode, metadata));
        }
    }
}
