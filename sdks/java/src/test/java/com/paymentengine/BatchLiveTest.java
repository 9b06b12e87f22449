package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.model.BatchCreateTransactionsResult;
import com.paymentengine.model.BatchTransactionItem;
import com.paymentengine.model.BatchTransactionResult;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.Transaction;
import java.math.BigDecimal;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** POST /api/v1/transactions:batch against the real engine. */
@Tag("live")
class BatchLiveTest {
    static CreateTransactionRequest payment(String from, String amount) {
        return CreateTransactionRequest.builder().fromAccountId(from).toAccountId("test_acc_002").paymentTypeId("rtp")
                .amount(new BigDecimal(amount)).currencyCode("USD").description("Batch payment").build();
    }

    @Test
    void aBatchAnswersEachPaymentInRequestOrder() {
        try (PaymentEngineClient client = LiveEngine.apiKeyClient()) {
            List<BatchTransactionItem> items = List.of(BatchTransactionItem.of(payment("test_acc_001", "5.00")),
                    BatchTransactionItem.of(payment("test_acc_empty", "5.00")));
            String batchKey = "batch-" + UUID.randomUUID();
            BatchCreateTransactionsResult result = client.transactions().createBatch(items, false, batchKey);
            assertEquals(1, result.getSucceededCount());
            assertEquals(1, result.getFailedCount());
            BatchTransactionResult created = result.getResults().get(0);
            assertEquals(0, created.getIndex());
            assertEquals(201, created.getStatus());
            assertTrue(created.isSucceeded());
            assertEquals(new BigDecimal("5.00"), created.getTransaction().getAmount());
            BatchTransactionResult refused = result.getResults().get(1);
            assertEquals(1, refused.getIndex());
            assertEquals(422, refused.getStatus());
            assertNull(refused.getTransaction());
            assertEquals("INSUFFICIENT_FUNDS", refused.getError().getCode());
            // The call's own key replays the whole answer: the payment is not made twice.
            BatchCreateTransactionsResult replayed = client.transactions().createBatch(items, false, batchKey);
            assertEquals(created.getTransaction().getId(), replayed.getResults().get(0).getTransaction().getId());
        }
    }

    @Test
    void aPaymentCreatedAloneIsReplayedWhenItComesBackInABatch() {
        try (PaymentEngineClient client = LiveEngine.apiKeyClient()) {
            String itemKey = "item-" + UUID.randomUUID();
            Transaction alone = client.transactions().create(payment("test_acc_001", "5.00"), itemKey);
            BatchCreateTransactionsResult result = client.transactions().createBatch(
                    List.of(BatchTransactionItem.of(payment("test_acc_001", "5.00"), itemKey)), false);
            assertEquals(1, result.getSucceededCount(), String.valueOf(result));
            assertEquals(alone.getId(), result.getResults().get(0).getTransaction().getId());
        }
    }

    @Test
    void anAtomicBatchCreatesNothingWhenOnePaymentIsRefused() {
        try (PaymentEngineClient client = LiveEngine.apiKeyClient()) {
            String reference = "atomic-" + UUID.randomUUID();
            List<BatchTransactionItem> items = List.of(
                    BatchTransactionItem.of(CreateTransactionRequest.builder().fromAccountId("test_acc_001")
                            .toAccountId("test_acc_002").paymentTypeId("rtp").amount(new BigDecimal("6.00"))
                            .externalReference(reference).build()),
                    BatchTransactionItem.of(payment("test_acc_empty", "6.00")));
            BatchCreateTransactionsResult result = client.transactions().createBatch(items, true);
            assertEquals(0, result.getSucceededCount());
            assertEquals(2, result.getFailedCount());
            assertTrue(client.transactions().list(com.paymentengine.model.TransactionQuery.builder()
                    .externalReference(reference)).toList().isEmpty());
        }
    }
}
