package com.paymentengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.paymentengine.model.NotFoundException;
import com.paymentengine.model.PaymentEngineException;
import com.paymentengine.model.Transaction;
import com.paymentengine.model.TransactionStatus;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The guide's Java code (SDK Usage, Java SDK, Basic Usage) taken from the guide at run time,
 * wrapped in a class, compiled and run against the real engine. The guide's code is never copied
 * into the repository: only its base URL is pointed at the engine under test (its API key comes
 * from PAYMENT_ENGINE_API_KEY, as the guide reads it).
 */
@Tag("live")
class GuideCodeLiveTest {
    static final String GUIDE_BASE_URL = "\"https://api.payment-engine.com\"";
    static final String CLASS_NAME = "GuideJavaExample";
    /** What the wrapper adds: the JDK types the guide's snippet uses without importing them. */
    static final String WRAPPER_IMPORTS = "import java.math.BigDecimal;\nimport java.time.Duration;\nimport java.util.Map;\n";

    /** The first java block after the guide's "### Java SDK" heading that builds a client. */
    static String guideJavaBlock() throws Exception {
        String guide = Files.readString(RepoFiles.guide(), StandardCharsets.UTF_8);
        int section = guide.indexOf("### Java SDK");
        assertTrue(section >= 0, "the guide has no Java SDK section: " + RepoFiles.guide());
        Matcher block = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(guide);
        int from = section;
        while (block.find(from)) {
            if (block.group(1).contains("PaymentEngineClient.Builder")) {
                return block.group(1);
            }
            from = block.end();
        }
        throw new AssertionError("no Java block with PaymentEngineClient.Builder in the guide's Java SDK section");
    }

    /** The block as a class: its imports on top, its statements and methods as the class body. */
    static String wrap(String block) {
        StringBuilder imports = new StringBuilder(WRAPPER_IMPORTS);
        StringBuilder body = new StringBuilder();
        for (String line : block.split("\n", -1)) {
            if (line.startsWith("import ")) {
                imports.append(line).append('\n');
            } else {
                body.append("    ").append(line).append('\n');
            }
        }
        return imports + "\npublic class " + CLASS_NAME + " {\n" + body + "}\n";
    }

    /** Compiles the source and returns an instance of its class (whose field initializer builds the client). */
    static Object compileAndInstantiate(String source, Path dir) throws Exception {
        Path file = dir.resolve(CLASS_NAME + ".java");
        Files.writeString(file, source, StandardCharsets.UTF_8);
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertNotNull(compiler, "no system Java compiler: run the tests on a JDK");
        StringWriter diagnostics = new StringWriter();
        List<String> options = new ArrayList<>(List.of("-classpath", testClassPath(),
                "-d", dir.toString(), "-Xlint:none"));
        var fileManager = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        boolean compiled = compiler.getTask(diagnostics, fileManager, null, options, null,
                fileManager.getJavaFileObjects(file.toFile())).call();
        assertTrue(compiled, "the guide's Java code does not compile:\n" + diagnostics + "\n" + source);
        URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
                GuideCodeLiveTest.class.getClassLoader());
        return loader.loadClass(CLASS_NAME).getConstructor().newInstance();
    }

    /** The test's own class path: the console launcher loads the SDK through its own class loader. */
    static String testClassPath() {
        List<String> entries = new ArrayList<>();
        for (ClassLoader loader = GuideCodeLiveTest.class.getClassLoader(); loader != null; loader = loader.getParent()) {
            if (loader instanceof URLClassLoader) {
                for (URL url : ((URLClassLoader) loader).getURLs()) {
                    try {
                        entries.add(Path.of(url.toURI()).toString());
                    } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                        // not a file: skip
                    }
                }
            }
        }
        entries.add(System.getProperty("java.class.path"));
        return String.join(java.io.File.pathSeparator, entries);
    }

    static Object call(Object example, String method, Object... args) throws Throwable {
        Class<?>[] types = new Class<?>[args.length];
        for (int i = 0; i < args.length; i++) {
            types[i] = args[i].getClass();
        }
        Method target = example.getClass().getMethod(method, types);
        try {
            return target.invoke(example, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    static String pointedAtTheEngine(String block) {
        assertTrue(block.contains(GUIDE_BASE_URL), "the guide's block no longer uses " + GUIDE_BASE_URL);
        return block.replace(GUIDE_BASE_URL, "\"" + LiveEngine.baseUrl() + "\"");
    }

    @Test
    void theGuidesCodeCompilesAsWrittenAndReachesTheEngine() throws Throwable {
        assertEquals(LiveEngine.env("PE_API_KEY"), LiveEngine.env("PAYMENT_ENGINE_API_KEY"));
        Path dir = Files.createTempDirectory("guide-java");
        Object example = compileAndInstantiate(wrap(pointedAtTheEngine(guideJavaBlock())), dir);
        // The guide's own accounts (acc_123, acc_456) are not the sandbox's: the engine refuses
        // the payment, and the guide's catch block rethrows the SDK's typed exception.
        PaymentEngineException error = assertThrows(PaymentEngineException.class,
                () -> call(example, "createPayment"));
        assertInstanceOf(NotFoundException.class, error);
        assertEquals("NOT_FOUND", error.getCode());
        assertEquals(404, error.getStatus());
        assertNotNull(error.getRequestId());
        assertNotNull(error.getTimestamp());
        PaymentEngineException missing = assertThrows(PaymentEngineException.class,
                () -> call(example, "checkPaymentStatus", "txn_does_not_exist"));
        assertEquals("NOT_FOUND", missing.getCode());
        assertEquals(404, missing.getStatus());
    }

    @Test
    void theGuidesCodeWithSandboxAccountsCreatesAPaymentAndReadsItsStatus() throws Throwable {
        String block = pointedAtTheEngine(guideJavaBlock());
        assertTrue(block.contains("\"acc_123\"") && block.contains("\"acc_456\""));
        String sandbox = block.replace("\"acc_123\"", "\"test_acc_001\"").replace("\"acc_456\"", "\"test_acc_002\"");
        Object example = compileAndInstantiate(wrap(sandbox), Files.createTempDirectory("guide-java-sandbox"));
        Transaction transaction = (Transaction) call(example, "createPayment");
        assertTrue(transaction.getId().startsWith("txn_"), transaction.getId());
        assertEquals(new BigDecimal("1000.00"), transaction.getAmount());
        assertEquals("USD", transaction.getCurrencyCode());
        assertEquals("WIRE_DOMESTIC", transaction.getPaymentTypeId().toUpperCase());
        assertEquals("INV-001", transaction.getMetadata().get("invoiceId"));
        assertEquals("CUST-123", transaction.getMetadata().get("customerId"));
        TransactionStatus status = (TransactionStatus) call(example, "checkPaymentStatus", transaction.getId());
        assertEquals(transaction.getId(), status.getTransactionId());
        assertTrue(Set.of("PENDING", "PROCESSING", "COMPLETED").contains(status.getStatus()), status.getStatus());
    }
}
