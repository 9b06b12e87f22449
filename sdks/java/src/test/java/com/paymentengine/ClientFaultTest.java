package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.FaultServer.Received;
import com.paymentengine.model.BatchCreateTransactionsResult;
import com.paymentengine.model.BatchTransactionItem;
import com.paymentengine.model.CreateTransactionRequest;
import com.paymentengine.model.ForbiddenException;
import com.paymentengine.model.InsufficientFundsException;
import com.paymentengine.model.InvalidRequestException;
import com.paymentengine.model.InvalidResponseException;
import com.paymentengine.model.NotFoundException;
import com.paymentengine.model.OutcomeUnknownException;
import com.paymentengine.model.PaymentEngineException;
import com.paymentengine.model.PaymentEngineTimeoutException;
import com.paymentengine.model.RateLimitExceededException;
import com.paymentengine.model.ServiceUnavailableException;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionStatus;
import com.paymentengine.model.UnauthorizedException;
import com.paymentengine.model.UnprocessableException;
import com.paymentengine.model.WaitTimeoutException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The client against a loopback server that answers with scripted faults. */
class ClientFaultTest {
    static final String TRANSACTION = "{\"id\":\"txn_1\",\"fromAccountId\":\"acc_1\",\"toAccountId\":\"acc_2\","
            + "\"paymentTypeId\":\"RTP\",\"amount\":1000.0,\"currencyCode\":\"USD\",\"status\":\"PENDING\","
            + "\"metadata\":{\"invoiceId\":\"INV-001\"},\"createdAt\":\"2024-01-15T10:30:00Z\"}";

    FaultServer server;
    PaymentEngineClient client;

    @BeforeEach
    void start() throws Exception {
        server = new FaultServer();
        client = clientWith(Duration.ofSeconds(5), 3);
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
    }

    PaymentEngineClient clientWith(Duration timeout, int retries) {
        return new PaymentEngineClient.Builder().apiKey("pk_test").baseUrl(server.baseUrl()).timeout(timeout)
                .retries(retries).retryDelay(Duration.ofMillis(5)).retryDelayMax(Duration.ofMillis(20)).build();
    }

    static CreateTransactionRequest request() {
        return CreateTransactionRequest.builder().fromAccountId("acc_1").toAccountId("acc_2").paymentTypeId("rtp")
                .amount(new BigDecimal("1000.00")).currencyCode("USD").description("Invoice payment")
                .metadata(Map.of("invoiceId", "INV-001")).build();
    }

    @Test
    void createSendsTheGuidesBodyWithExactAmountAndReadsTheTransaction() {
        server.then(FaultServer.json(201, TRANSACTION));
        Transaction transaction = client.transactions().create(request());
        assertEquals("txn_1", transaction.getId());
        assertEquals(new BigDecimal("1000.00"), transaction.getAmount());
        assertEquals("PENDING", transaction.getStatus());
        assertEquals(Instant.parse("2024-01-15T10:30:00Z"), transaction.getCreatedAt());
        assertEquals("INV-001", transaction.getMetadata().get("invoiceId"));
        Received sent = server.received().get(0);
        assertEquals("POST", sent.method());
        assertEquals("/api/v1/transactions", sent.path());
        assertEquals("pk_test", sent.header("X-API-Key"));
        assertTrue(sent.body().contains("\"amount\":1000.00"), sent.body());
        assertTrue(sent.body().contains("\"fromAccountId\":\"acc_1\""), sent.body());
        assertNotNull(sent.header("Idempotency-Key"));
    }

    @Test
    void rateLimitIsRetriedAfterRetryAfterWithTheSameKeyAndBody() {
        server.then(FaultServer.json(429, "{\"error\":{\"code\":\"RATE_LIMIT_EXCEEDED\",\"message\":\"slow down\"}}",
                Map.of("Retry-After", "0")))
                .then(FaultServer.json(429, "{\"error\":{\"code\":\"RATE_LIMIT_EXCEEDED\",\"message\":\"slow down\"}}",
                        Map.of("Retry-After", "1")))
                .then(FaultServer.json(201, TRANSACTION));
        assertEquals("txn_1", client.transactions().create(request()).getId());
        List<Received> sent = server.received();
        assertEquals(3, sent.size());
        assertEquals(1, sent.stream().map(r -> r.header("Idempotency-Key")).distinct().count());
        assertEquals(1, sent.stream().map(Received::body).distinct().count());
    }

    @Test
    void retryAfterLongerThanTheMaximumIsNotWaitedOut() {
        server.then(FaultServer.json(429, "{\"error\":{\"code\":\"RATE_LIMIT_EXCEEDED\",\"message\":\"later\"}}",
                Map.of("Retry-After", "3600")));
        RateLimitExceededException error = assertThrows(RateLimitExceededException.class,
                () -> client.transactions().get("txn_1"));
        assertEquals(Duration.ofHours(1), error.getRetryAfter());
        assertEquals(1, server.received().size());
    }

    @Test
    void aProxys503TextBodyIsRetriedThenThrownAsATypedException() {
        server.otherwise(FaultServer.text(503, "<html>upstream unavailable</html>"));
        InvalidResponseException error = assertThrows(InvalidResponseException.class,
                () -> client.transactions().getStatus("txn_1"));
        assertEquals(503, error.getStatus());
        assertEquals("INVALID_RESPONSE", error.getCode());
        assertTrue(error.getBody().contains("upstream unavailable"));
        assertEquals(4, server.received().size()); // 1 + 3 retries
    }

    @Test
    void a503EnvelopeThenSuccessRecovers() {
        server.then(FaultServer.error(503, "SERVICE_UNAVAILABLE")).then(FaultServer.json(201, TRANSACTION));
        assertEquals("txn_1", client.transactions().create(request()).getId());
        assertEquals(2, server.received().size());
    }

    @Test
    void spentRetriesThrowTheLastAnswerWithTheCallsKey() {
        server.otherwise(FaultServer.error(503, "SERVICE_UNAVAILABLE"));
        ServiceUnavailableException error = assertThrows(ServiceUnavailableException.class,
                () -> client.transactions().create(request(), "order-42"));
        assertEquals("order-42", error.getIdempotencyKey());
        assertEquals(4, server.received().size());
        assertTrue(server.received().stream().allMatch(r -> "order-42".equals(r.header("Idempotency-Key"))));
    }

    @Test
    void aSlowBodyPastTheDeadlineIsAnOutcomeUnknownCarryingTheKey() {
        PaymentEngineClient impatient = clientWith(Duration.ofMillis(700), 3);
        server.then(FaultServer.slowBody(201, TRANSACTION, 5_000));
        OutcomeUnknownException error = assertThrows(OutcomeUnknownException.class,
                () -> impatient.transactions().create(request(), "order-slow"));
        assertEquals("order-slow", error.getIdempotencyKey());
        assertEquals("OUTCOME_UNKNOWN", error.getCode());
        assertInstanceOf(PaymentEngineTimeoutException.class, error.getCause());
        // The deadline covers the whole call: no second attempt after it passed.
        assertEquals(1, server.received().size());
        impatient.close();
    }

    @Test
    void aSlowBodyOfAReadIsATimeout() {
        PaymentEngineClient impatient = clientWith(Duration.ofMillis(700), 3);
        server.then(FaultServer.slowBody(200, TRANSACTION, 5_000));
        PaymentEngineTimeoutException error = assertThrows(PaymentEngineTimeoutException.class,
                () -> impatient.transactions().get("txn_1"));
        assertEquals("TIMEOUT", error.getCode());
        assertEquals(0, error.getStatus());
        impatient.close();
    }

    @Test
    void aResetConnectionIsReplayedWithTheSameKey() {
        server.then(FaultServer.reset()).then(FaultServer.reset()).then(FaultServer.json(201, TRANSACTION));
        assertEquals("txn_1", client.transactions().create(request()).getId());
        List<Received> sent = server.received();
        assertEquals(3, sent.size());
        assertEquals(1, sent.stream().map(r -> r.header("Idempotency-Key")).distinct().count());
    }

    @Test
    void resetsUntilTheRetriesAreSpentLeaveThePaymentsOutcomeUnknown() {
        server.otherwise(FaultServer.reset());
        OutcomeUnknownException error = assertThrows(OutcomeUnknownException.class,
                () -> client.transactions().create(request()));
        assertEquals(server.received().get(0).header("Idempotency-Key"), error.getIdempotencyKey());
        assertEquals(4, server.received().size());
    }

    @Test
    void anUnsafePostIsNotRepeatedAfterAReset() {
        server.otherwise(FaultServer.reset());
        OutcomeUnknownException error = assertThrows(OutcomeUnknownException.class,
                () -> client.accounts().create("Ops", "USD", null));
        assertNotNull(error.getIdempotencyKey());
        assertEquals(1, server.received().size());
    }

    @Test
    void aRefusedConnectionIsAConnectionErrorAfterRetries() throws Exception {
        String deadUrl;
        try (FaultServer gone = new FaultServer()) {
            deadUrl = gone.baseUrl();
        }
        PaymentEngineClient nowhere = new PaymentEngineClient.Builder().apiKey("k").baseUrl(deadUrl)
                .retries(2).retryDelay(Duration.ofMillis(1)).retryDelayMax(Duration.ofMillis(2)).build();
        PaymentEngineException error = assertThrows(PaymentEngineException.class,
                () -> nowhere.transactions().create(request()));
        // Never connected: it cannot have been processed, so the outcome is known.
        assertEquals("CONNECTION_ERROR", error.getCode());
        assertFalse(error instanceof OutcomeUnknownException);
        nowhere.close();
    }

    @ParameterizedTest
    @CsvSource({"400,INVALID_REQUEST", "401,UNAUTHORIZED", "403,FORBIDDEN", "404,NOT_FOUND",
            "422,INSUFFICIENT_FUNDS", "422,INVALID_ACCOUNT_STATUS"})
    void clientErrorsAreNeverRetried(int status, String code) {
        server.otherwise(FaultServer.error(status, code));
        PaymentEngineException error = assertThrows(PaymentEngineException.class,
                () -> client.transactions().create(request()));
        assertEquals(code, error.getCode());
        assertEquals(status, error.getStatus());
        assertEquals(1, server.received().size());
    }

    @Test
    void theEnvelopeBecomesTheExceptionOfItsCode() {
        server.then(json422InsufficientFunds());
        InsufficientFundsException error = assertThrows(InsufficientFundsException.class,
                () -> client.transactions().create(request()));
        assertEquals("INSUFFICIENT_FUNDS", error.getCode());
        assertEquals(422, error.getStatus());
        assertEquals("Account does not have sufficient funds for this transaction", error.getMessage());
        assertEquals(new BigDecimal("500.00"), error.getDetails().get("availableBalance"));
        assertEquals("req_abc123", error.getRequestId());
        assertEquals(Instant.parse("2024-01-15T10:30:00Z"), error.getTimestamp());
        assertInstanceOf(UnprocessableException.class, error);
    }

    static FaultServer.Answer json422InsufficientFunds() {
        return FaultServer.json(422, "{\"error\":{\"code\":\"INSUFFICIENT_FUNDS\",\"message\":\"Account does not have "
                + "sufficient funds for this transaction\",\"details\":{\"accountId\":\"acc_123\",\"requestedAmount\":"
                + "1000.00,\"availableBalance\":500.00},\"timestamp\":\"2024-01-15T10:30:00Z\",\"requestId\":\"req_abc123\"}}");
    }

    @Test
    void anUnknownCodeFallsBackToTheClassOfItsStatus() {
        server.then(FaultServer.error(404, "TRANSACTION_GONE")).then(FaultServer.error(403, "TENANT_SUSPENDED"));
        NotFoundException missing = assertThrows(NotFoundException.class, () -> client.transactions().get("x"));
        assertEquals("TRANSACTION_GONE", missing.getCode());
        assertThrows(ForbiddenException.class, () -> client.transactions().get("x"));
    }

    @Test
    void answersWithoutTheEnvelopeGetTheCodeOfTheirStatus() {
        server.then(FaultServer.json(502, "{}")).then(FaultServer.json(502, "{}"))
                .then(FaultServer.json(404, "{\"error\":{\"message\":\"gone\"}}"));
        PaymentEngineClient once = clientWith(Duration.ofSeconds(5), 1);
        com.paymentengine.model.ServerException proxy = assertThrows(com.paymentengine.model.ServerException.class,
                () -> once.transactions().get("txn_1"));
        assertEquals("SERVER_ERROR", proxy.getCode());
        assertEquals(502, proxy.getStatus());
        assertEquals(2, server.received().size());
        NotFoundException missing = assertThrows(NotFoundException.class, () -> once.transactions().get("txn_1"));
        assertEquals("NOT_FOUND", missing.getCode());
        assertEquals("gone", missing.getMessage());
        once.close();
    }

    @Test
    void aSuccessThatIsNotJsonIsAnInvalidResponse() {
        server.then(FaultServer.text(200, "OK"));
        InvalidResponseException error = assertThrows(InvalidResponseException.class,
                () -> client.transactions().get("txn_1"));
        assertEquals(200, error.getStatus());
        assertEquals("OK", error.getBody());
    }

    @Test
    void anAmountWithMoreDecimalsThanItsCurrencyIsRefusedBeforeSending() {
        assertThrows(IllegalArgumentException.class, () -> CreateTransactionRequest.builder().fromAccountId("a")
                .toAccountId("b").paymentTypeId("rtp").amount(new BigDecimal("10.001")).currencyCode("USD").build());
        assertThrows(IllegalArgumentException.class, () -> CreateTransactionRequest.builder().fromAccountId("a")
                .toAccountId("b").paymentTypeId("rtp").amount(new BigDecimal("5.5")).currencyCode("JPY").build());
        // Trailing zeros are the same amount.
        CreateTransactionRequest.builder().fromAccountId("a").toAccountId("b").paymentTypeId("rtp")
                .amount(new BigDecimal("10.500")).currencyCode("usd").build();
        CreateTransactionRequest.builder().fromAccountId("a").toAccountId("b").paymentTypeId("rtp")
                .amount(new BigDecimal("1.234")).currencyCode("KWD").build();
        assertTrue(server.received().isEmpty());
    }

    @Test
    void amountsReadBackCarryTheirCurrencysDecimals() {
        server.then(FaultServer.json(200, "{\"accountId\":\"acc_1\",\"availableBalance\":1.5,\"currentBalance\":2,"
                + "\"heldBalance\":0.5,\"currencyCode\":\"USD\",\"asOf\":\"2024-01-15T10:30:00+00:00\"}"));
        var balance = client.accounts().getBalance("acc_1");
        assertEquals("1.50", balance.getAvailableBalance().toPlainString());
        assertEquals("2.00", balance.getCurrentBalance().toPlainString());
        assertEquals("/api/v1/accounts/acc_1/balance", server.received().get(0).path());
    }

    @Test
    void listsPageThemselves() {
        server.then(FaultServer.json(200, "{\"transactions\":[" + TRANSACTION + "," + TRANSACTION.replace("txn_1", "txn_2")
                        + "],\"nextPageToken\":\"p2\"}"))
                .then(FaultServer.json(200, "{\"transactions\":[" + TRANSACTION.replace("txn_1", "txn_3")
                        + "],\"nextPageToken\":\"\"}"));
        List<String> ids = client.transactions().list(com.paymentengine.model.TransactionQuery.builder()
                .status("PENDING").pageSize(2)).stream().map(Transaction::getId).collect(Collectors.toList());
        assertEquals(List.of("txn_1", "txn_2", "txn_3"), ids);
        List<Received> sent = server.received();
        assertEquals(2, sent.size());
        assertTrue(sent.get(0).query().contains("status=PENDING"));
        assertTrue(sent.get(0).query().contains("pageSize=2"));
        assertTrue(sent.get(1).query().contains("pageToken=p2"));
    }

    @Test
    void aLimitStopsPaging() {
        server.otherwise(FaultServer.json(200, "{\"transactions\":[" + TRANSACTION + "],\"nextPageToken\":\"more\"}"));
        assertEquals(3, client.transactions().list(com.paymentengine.model.TransactionQuery.builder().limit(3))
                .toList().size());
        assertEquals(3, server.received().size());
    }

    @Test
    void loginSessionsLogInOnceAndRenewARefusedToken() throws Exception {
        String tokens = "{\"access_token\":\"%s\",\"refresh_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
        server.then(FaultServer.json(200, String.format(tokens, "at1", "rt1")))
                .then(FaultServer.json(200, TRANSACTION))
                .then(FaultServer.json(200, TRANSACTION))
                .then(FaultServer.error(401, "UNAUTHORIZED"))
                .then(FaultServer.json(200, String.format(tokens, "at2", "rt2")))
                .then(FaultServer.json(200, TRANSACTION));
        PaymentEngineClient session = new PaymentEngineClient.Builder().credentials("ops", "secret")
                .baseUrl(server.baseUrl() + "/api/v1/").build();
        session.transactions().get("txn_1");
        session.transactions().get("txn_1");
        session.transactions().get("txn_1");
        List<Received> sent = server.received();
        assertEquals(List.of("/api/v1/auth/login", "/api/v1/transactions/txn_1", "/api/v1/transactions/txn_1",
                "/api/v1/transactions/txn_1", "/api/v1/auth/refresh", "/api/v1/transactions/txn_1"),
                sent.stream().map(Received::path).collect(Collectors.toList()));
        assertTrue(sent.get(0).body().contains("\"username\":\"ops\""));
        assertEquals("Bearer at1", sent.get(1).header("Authorization"));
        assertEquals("Bearer at1", sent.get(3).header("Authorization"));
        assertTrue(sent.get(4).body().contains("\"refresh_token\":\"rt1\""));
        assertEquals("Bearer at2", sent.get(5).header("Authorization"));
        assertNull(sent.get(0).header("Authorization"));
        session.close();
    }

    @Test
    void aRefusedLoginIsUnauthorized() {
        server.then(FaultServer.error(401, "UNAUTHORIZED"));
        PaymentEngineClient session = new PaymentEngineClient.Builder().credentials("ops", "wrong")
                .baseUrl(server.baseUrl()).build();
        assertThrows(UnauthorizedException.class, () -> session.transactions().get("txn_1"));
        assertEquals(1, server.received().size());
        session.close();
    }

    @Test
    void waitForCompletionPollsUntilAFinalStatus() {
        String status = "{\"transactionId\":\"txn_1\",\"status\":\"%s\"}";
        server.then(FaultServer.json(200, String.format(status, "PENDING")))
                .then(FaultServer.json(200, String.format(status, "PROCESSING")))
                .then(FaultServer.json(200, String.format(status, "COMPLETED")));
        TransactionStatus done = client.transactions().waitForCompletion("txn_1", Duration.ofSeconds(30),
                Duration.ofMillis(10));
        assertEquals("COMPLETED", done.getStatus());
        assertTrue(done.isFinal());
        assertEquals(3, server.received().size());
    }

    @Test
    void waitForCompletionGivesUpWithTheLastStatus() {
        server.otherwise(FaultServer.json(200, "{\"transactionId\":\"txn_1\",\"status\":\"PENDING\"}"));
        WaitTimeoutException error = assertThrows(WaitTimeoutException.class,
                () -> client.transactions().waitForCompletion("txn_1", Duration.ofMillis(100), Duration.ofMillis(10)));
        assertEquals("PENDING", error.getLastStatus().getStatus());
    }

    @Test
    void batchesSendEveryItemWithItsKeyAndReadPerItemResults() {
        server.then(FaultServer.json(200, "{\"results\":[{\"index\":0,\"status\":201,\"transaction\":" + TRANSACTION
                + "},{\"index\":1,\"status\":422,\"error\":{\"code\":\"INSUFFICIENT_FUNDS\",\"message\":\"no\","
                + "\"details\":{\"accountId\":\"acc_9\"}}}],\"succeededCount\":1,\"failedCount\":1}"));
        BatchCreateTransactionsResult result = client.transactions().createBatch(List.of(
                BatchTransactionItem.of(request(), "item-1"), BatchTransactionItem.of(request())), false, "batch-1");
        assertEquals(1, result.getSucceededCount());
        assertEquals(1, result.getFailedCount());
        assertTrue(result.getResults().get(0).isSucceeded());
        assertEquals("txn_1", result.getResults().get(0).getTransaction().getId());
        assertEquals("INSUFFICIENT_FUNDS", result.getResults().get(1).getError().getCode());
        assertEquals("acc_9", result.getResults().get(1).getError().getDetails().get("accountId"));
        Received sent = server.received().get(0);
        assertEquals("/api/v1/transactions:batch", sent.path());
        assertEquals("batch-1", sent.header("Idempotency-Key"));
        assertTrue(sent.body().contains("\"idempotencyKey\":\"item-1\""), sent.body());
        assertTrue(sent.body().contains("\"atomic\":false"), sent.body());
        assertTrue(sent.body().contains("\"amount\":1000.00"), sent.body());
    }

    @Test
    void aBatchIsReplayedWithTheSameKeyAfterA503() {
        server.then(FaultServer.error(503, "SERVICE_UNAVAILABLE"))
                .then(FaultServer.json(200, "{\"results\":[],\"succeededCount\":0,\"failedCount\":0}"));
        client.transactions().createBatch(List.of(BatchTransactionItem.of(request())), true);
        List<Received> sent = server.received();
        assertEquals(2, sent.size());
        assertEquals(sent.get(0).header("Idempotency-Key"), sent.get(1).header("Idempotency-Key"));
        assertEquals(sent.get(0).body(), sent.get(1).body());
    }

    @Test
    void asyncCallsCompleteTheirFutures() {
        server.then(FaultServer.json(201, TRANSACTION)).then(FaultServer.error(404, "NOT_FOUND"));
        assertEquals("txn_1", client.async().transactions().create(request()).join().getId());
        CompletionException failed = assertThrows(CompletionException.class,
                () -> client.async().transactions().get("missing").join());
        assertInstanceOf(NotFoundException.class, failed.getCause());
    }

    @Test
    void pathSegmentsAreEncoded() {
        server.then(FaultServer.error(404, "NOT_FOUND"));
        assertThrows(NotFoundException.class, () -> client.transactions().get("a/b c"));
        assertEquals("/api/v1/transactions/a%2Fb%20c", server.received().get(0).path());
    }

    @Test
    void theBuilderNeedsOneKindOfCredentials() {
        assertThrows(IllegalArgumentException.class, () -> new PaymentEngineClient.Builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> new PaymentEngineClient.Builder().apiKey("k").credentials("u", "p").build());
        assertThrows(IllegalArgumentException.class,
                () -> new PaymentEngineClient.Builder().apiKey("k").baseUrl("ftp://x").build());
        assertThrows(InvalidRequestException.class, () -> {
            server.then(FaultServer.error(400, "INVALID_REQUEST"));
            client.paymentTypes().list();
        });
    }
}
