package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.model.Balance;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.InsufficientFundsException;
import com.paymentengine.model.InvalidRequestException;
import com.paymentengine.model.PaymentEngineException;
import com.paymentengine.model.PaymentType;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionQuery;
import com.paymentengine.model.TransactionStatus;
import java.math.BigDecimal;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The guide's test scenarios, and the SDK's resources, against the real engine's sandbox. */
@Tag("live")
class GuideScenariosLiveTest {
    static PaymentEngineClient client;

    @BeforeAll
    static void connect() {
        client = LiveEngine.apiKeyClient();
    }

    @AfterAll
    static void disconnect() {
        client.close();
    }

    static CreateTransactionRequest.Builder rtp(String from, String amount) {
        return CreateTransactionRequest.builder().fromAccountId(from).toAccountId("test_acc_002")
                .paymentTypeId("rtp").amount(new BigDecimal(amount)).description("Test payment");
    }

    @Test
    void successfulPaymentFlow() {
        Transaction transaction = client.transactions().create(rtp("test_acc_001", "100.00").build());
        assertEquals("PENDING", transaction.getStatus());
        assertEquals(new BigDecimal("100.00"), transaction.getAmount());
        TransactionStatus status = client.transactions().waitForCompletion(transaction.getId());
        assertEquals("COMPLETED", status.getStatus());
        assertEquals("COMPLETED", client.transactions().getStatus(transaction.getId()).getStatus());
    }

    @Test
    void insufficientFunds() {
        PaymentEngineException error = assertThrows(PaymentEngineException.class,
                () -> client.transactions().create(rtp("test_acc_empty", "1000.00").build()));
        assertInstanceOf(InsufficientFundsException.class, error);
        assertEquals("INSUFFICIENT_FUNDS", error.getCode());
        assertEquals(422, error.getStatus());
        assertEquals("test_acc_empty", error.getDetails().get("accountId"));
        assertNotNull(error.getRequestId());
    }

    @Test
    void aRepeatedKeyAnswersTheSamePaymentInsteadOfPayingTwice() {
        String key = "order-" + UUID.randomUUID();
        Balance before = client.accounts().getBalance("test_acc_001");
        Transaction first = client.transactions().create(rtp("test_acc_001", "7.25").build(), key);
        Transaction again = client.transactions().create(rtp("test_acc_001", "7.25").build(), key);
        assertEquals(first.getId(), again.getId());
        client.transactions().waitForCompletion(first.getId());
        Balance after = client.accounts().getBalance("test_acc_001");
        assertEquals("USD", after.getCurrencyCode());
        // Other tests pay from this account too, so only check that at least this payment left it once.
        assertTrue(after.getCurrentBalance().compareTo(before.getCurrentBalance().subtract(new BigDecimal("7.25"))) <= 0);
    }

    @Test
    void anInvalidAmountIsRefusedByTheEngineWithItsField() {
        InvalidRequestException error = assertThrows(InvalidRequestException.class,
                () -> client.transactions().create(rtp("test_acc_001", "-5.00").build()));
        assertEquals(400, error.getStatus());
        assertEquals("INVALID_REQUEST", error.getCode());
    }

    @Test
    void sessionLoginWorksLikeAnApiKey() {
        try (PaymentEngineClient session = LiveEngine.sessionClient()) {
            Transaction transaction = session.transactions().create(rtp("test_acc_001", "3.00").build());
            assertEquals(transaction.getId(), session.transactions().get(transaction.getId()).getId());
            assertEquals("test_acc_001", session.accounts().get("test_acc_001").getId());
        }
    }

    @Test
    void listsPageThroughThePayments() {
        String reference = "ref-" + UUID.randomUUID();
        for (int i = 0; i < 3; i++) {
            client.transactions().create(rtp("test_acc_001", "1.0" + i).externalReference(reference).build());
        }
        List<String> ids = client.transactions().list(TransactionQuery.builder().externalReference(reference)
                .pageSize(2)).stream().map(Transaction::getId).collect(Collectors.toList());
        assertEquals(3, ids.size());
        assertEquals(3, ids.stream().distinct().count());
    }

    @Test
    void paymentTypesAccountsAndEvents() {
        List<PaymentType> types = client.paymentTypes().list();
        assertTrue(types.stream().anyMatch(type -> type.getId().equalsIgnoreCase("rtp")));
        assertTrue(client.accounts().list().stream().anyMatch(account -> account.getId().equals("test_acc_001")));
        assertFalse(client.accounts().entries("test_acc_001").firstPage().items().isEmpty());
        Transaction transaction = client.transactions().create(rtp("test_acc_001", "2.00").build());
        client.transactions().waitForCompletion(transaction.getId());
        // Events reach the event log through the outbox relay, a moment after the change
        // they report has committed: the test looks again for a while.
        boolean listed = false;
        for (int attempt = 0; attempt < 100 && !listed; attempt++) {
            listed = client.events().list().stream().limit(200)
                    .anyMatch(event -> transaction.getId().equals(event.getData().get("transactionId")));
            if (!listed) {
                sleepQuietly(100);
            }
        }
        assertTrue(listed);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(interrupted);
        }
    }

    @Test
    void asyncCreateAndStatus() {
        Transaction transaction = client.async().transactions().create(rtp("test_acc_001", "4.00").build()).join();
        TransactionStatus status = client.async().transactions().waitForCompletion(transaction.getId()).join();
        assertEquals("COMPLETED", status.getStatus());
    }
}
