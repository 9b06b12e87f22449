package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.BatchCreateTransactionsResult;
import com.paymentengine.model.BatchTransactionItem;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionQuery;
import com.paymentengine.model.TransactionStatus;
import com.paymentengine.model.WaitTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** {@code client.transactions()}: payments between accounts and their lifecycle. */
public final class Transactions {
    static final String PATH = "/api/v1/transactions";
    public static final int BATCH_SIZE_MAX = 1_000;
    public static final Duration WAIT_TIMEOUT_DEFAULT = Duration.ofSeconds(60);
    public static final Duration POLL_INTERVAL_DEFAULT = Duration.ofSeconds(1);
    public static final Duration POLL_INTERVAL_MAX = Duration.ofSeconds(16);
    static final int POLLS_MAX = 10_000;

    private final Transport transport;

    Transactions(Transport transport) {
        this.transport = transport;
    }

    /**
     * Creates a payment: funds are held on the payer at once, the rail then completes or fails
     * it. Safe to retry: a key is generated for this call and kept across its retries.
     */
    public Transaction create(CreateTransactionRequest request) {
        return create(request, null);
    }

    /** As {@link #create(CreateTransactionRequest)}, with your own Idempotency-Key (an order id) so that repeats across processes are safe too. */
    public Transaction create(CreateTransactionRequest request, String idempotencyKey) {
        Objects.requireNonNull(request, "request");
        return transport.request(Operation.post(PATH, request.toJson(),
                Resources.reader(Transaction::fromJson, "a transaction"), idempotencyKey));
    }

    public Transaction get(String transactionId) {
        return transport.request(Operation.get(PATH + "/" + Transport.segment(transactionId, "transactionId"),
                Resources.reader(Transaction::fromJson, "a transaction")));
    }

    /** Where the payment stands (the guide's {@code getStatus}). */
    public TransactionStatus getStatus(String transactionId) {
        return transport.request(Operation.get(
                PATH + "/" + Transport.segment(transactionId, "transactionId") + "/status",
                Resources.reader(TransactionStatus::fromJson, "a transaction status")));
    }

    /** Payments touching your accounts, newest first; iterate to get them all. */
    public PagedIterable<Transaction> list() {
        return list(TransactionQuery.builder());
    }

    public PagedIterable<Transaction> list(TransactionQuery query) {
        Map<String, String> filters = query.toQuery();
        return Pages.of(transport, PATH, filters, "transactions", Transaction::fromJson, query.getPageSize(),
                query.getLimit());
    }

    /** Cancels a batch (ACH) payment still PENDING before its settlement window. */
    public Transaction cancel(String transactionId) {
        return cancel(transactionId, null, null);
    }

    public Transaction cancel(String transactionId, String reason, String idempotencyKey) {
        // Canceling twice answers the canceled payment again: safe to retry.
        return transport.request(Operation.post(PATH + "/" + Transport.segment(transactionId, "transactionId") + ":cancel",
                Resources.compact("reason", reason), Resources.reader(Transaction::fromJson, "a transaction"),
                idempotencyKey));
    }

    /**
     * Creates up to {@value #BATCH_SIZE_MAX} payments in one call and answers one result per item,
     * in request order: the created payment or the guide's error for it. With {@code atomic}, no
     * payment is created when any is refused. Safe to retry: the call's Idempotency-Key replays
     * the whole answer, and each item's own key (when given) replays its payment.
     */
    public BatchCreateTransactionsResult createBatch(List<BatchTransactionItem> items, boolean atomic) {
        return createBatch(items, atomic, null);
    }

    public BatchCreateTransactionsResult createBatch(List<BatchTransactionItem> items, boolean atomic,
            String idempotencyKey) {
        Objects.requireNonNull(items, "items");
        if (items.isEmpty() || items.size() > BATCH_SIZE_MAX) {
            throw new IllegalArgumentException("a batch has 1 to " + BATCH_SIZE_MAX + " payments");
        }
        List<Map<String, Object>> bodies = new ArrayList<>(items.size());
        for (BatchTransactionItem item : items) {
            bodies.add(Objects.requireNonNull(item, "item").toJson());
        }
        Map<String, Object> body = Map.of("transactions", bodies, "atomic", atomic);
        return transport.request(Operation.post(PATH + ":batch", body,
                Resources.reader(BatchCreateTransactionsResult::fromJson, "a batch result"), idempotencyKey));
    }

    /** {@link #waitForCompletion(String, Duration, Duration)} with a 60 s bound, polling every 1 s, then 2, 4, … 16 s. */
    public TransactionStatus waitForCompletion(String transactionId) {
        return waitForCompletion(transactionId, WAIT_TIMEOUT_DEFAULT, POLL_INTERVAL_DEFAULT);
    }

    /**
     * Polls {@link #getStatus} until the payment is COMPLETED, FAILED or CANCELED and returns that
     * status (a failed payment is a status, not an exception). The interval doubles up to
     * {@link #POLL_INTERVAL_MAX}; throws {@link WaitTimeoutException} after {@code timeout}.
     */
    public TransactionStatus waitForCompletion(String transactionId, Duration timeout, Duration pollInterval) {
        if (timeout.isNegative() || pollInterval.isZero() || pollInterval.isNegative()) {
            throw new IllegalArgumentException("need timeout >= 0 and pollInterval > 0");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long interval = pollInterval.toNanos();
        TransactionStatus status = null;
        for (int poll = 0; poll < POLLS_MAX; poll++) {
            status = getStatus(transactionId);
            if (status.isFinal()) {
                return status;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                break;
            }
            try {
                Thread.sleep(Math.max(1, Math.min(interval, remaining) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            interval = Math.min(interval * 2, Math.max(POLL_INTERVAL_MAX.toNanos(), pollInterval.toNanos()));
        }
        throw new WaitTimeoutException("Transaction " + transactionId + " is still "
                + (status == null ? "unknown" : status.getStatus()) + " after " + timeout, status);
    }
}
