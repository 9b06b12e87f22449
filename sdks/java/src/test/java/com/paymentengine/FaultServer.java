package com.paymentengine;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A loopback HTTP server that answers from a script of faults, one per request, and records
 * every request it got (method, path, query, headers, body).
 */
final class FaultServer implements AutoCloseable {
    /** One scripted answer. */
    @FunctionalInterface
    interface Answer {
        void answer(HttpExchange exchange) throws IOException, InterruptedException;
    }

    record Received(String method, String path, String query, Map<String, List<String>> headers, String body) {
        String header(String name) {
            for (Map.Entry<String, List<String>> entry : headers.entrySet()) {
                if (entry.getKey().equalsIgnoreCase(name)) {
                    return entry.getValue().get(0);
                }
            }
            return null;
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "fault-server");
        thread.setDaemon(true);
        return thread;
    });
    private final Deque<Answer> script = new ArrayDeque<>();
    private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private Answer fallback = json(500, "{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"script exhausted\"}}");

    FaultServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    exchange.getRequestURI().getRawQuery(), Map.copyOf(exchange.getRequestHeaders()),
                    new String(body, StandardCharsets.UTF_8)));
            Answer answer;
            synchronized (script) {
                answer = script.isEmpty() ? fallback : script.poll();
            }
            try {
                answer.answer(exchange);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException clientWentAway) {
                // The client gave up (its deadline): nothing to answer.
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    FaultServer then(Answer answer) {
        synchronized (script) {
            script.add(answer);
        }
        return this;
    }

    FaultServer otherwise(Answer answer) {
        fallback = answer;
        return this;
    }

    List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    static Answer json(int status, String body) {
        return json(status, body, Map.of());
    }

    static Answer json(int status, String body, Map<String, String> headers) {
        return exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
            exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        };
    }

    static Answer text(int status, String body) {
        return exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain");
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        };
    }

    static Answer error(int status, String code) {
        return json(status, "{\"error\":{\"code\":\"" + code + "\",\"message\":\"scripted " + code
                + "\",\"details\":{\"field\":\"amount\"},\"timestamp\":\"2024-01-15T10:30:00Z\",\"requestId\":\"req_"
                + code.toLowerCase() + "\"}}");
    }

    /** Headers and the first bytes of a body at once, the rest after {@code pauseMillis}. */
    static Answer slowBody(int status, String body, long pauseMillis) {
        return exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            OutputStream out = exchange.getResponseBody();
            out.write(bytes, 0, 1);
            out.flush();
            Thread.sleep(pauseMillis);
            out.write(bytes, 1, bytes.length - 1);
            out.close();
        };
    }

    /** Reads the request, then drops the connection without any answer. */
    static Answer reset() {
        return exchange -> exchange.getHttpContext().getServer(); // closed in finally without a response
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
