// A loopback HTTP server that answers each request with the next scripted behaviour (a
// status and body, a reset mid-body, a body that stalls), and records what it received.
import { createServer } from "node:http";

export async function startFaultServer() {
  const requests = [];
  const script = [];
  let fallback = (_request, response) => reply(response, 500, { error: { code: "INTERNAL_ERROR", message: "unscripted request" } });
  const sockets = new Set();
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const recorded = {
      method: request.method,
      url: request.url,
      path: request.url.split("?")[0],
      query: new URL(request.url, "http://x").searchParams,
      headers: request.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    requests.push(recorded);
    const behaviour = script.length > 0 ? script.shift() : fallback;
    await behaviour(recorded, response, request);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    /** Queue behaviours for the next requests, in order. */
    next(...behaviours) {
      script.push(...behaviours);
      return this;
    },
    otherwise(behaviour) {
      fallback = behaviour;
      return this;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function reply(response, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": typeof body === "string" ? "text/plain" : "application/json",
    "X-Request-Id": "req_test",
    ...headers,
  });
  response.end(text);
}

export const json = (status, body, headers) => (_request, response) => reply(response, status, body, headers);

export const envelope = (status, code, message, details = {}, headers) =>
  json(status, { error: { code, message, details, timestamp: "2026-12-06T10:30:00.000Z", requestId: "req_envelope" } }, headers);

export const text = (status, body, headers) => (_request, response) => reply(response, status, body, headers);

/** Headers and half a body, then the connection is reset. */
export const resetMidBody = (status = 200) => (_request, response) => {
  response.writeHead(status, { "Content-Type": "application/json", "Content-Length": "200" });
  response.write('{"id":"txn_partial","amo');
  setTimeout(() => response.socket?.destroy(), 10);
};

/** Headers and the start of a body, then nothing until the client gives up. */
export const stallMidBody = () => (_request, response) => {
  response.writeHead(200, { "Content-Type": "application/json", "Content-Length": "200" });
  response.write('{"id":"txn_slow",');
};

/** The engine's idempotency in miniature: the first request of a key does the work, a repeat
 * answers the stored result. `lose` drops the answer of the first attempt on the floor. */
export function idempotentPayments({ loseFirstAnswer = false } = {}) {
  const byKey = new Map();
  const created = [];
  let lost = false;
  const behaviour = (request, response) => {
    const key = request.headers["idempotency-key"];
    let stored = byKey.get(key);
    if (stored === undefined) {
      const body = JSON.parse(request.body);
      stored = { id: `txn_${created.length + 1}`, status: "PENDING", ...body };
      created.push(stored);
      byKey.set(key, stored);
      if (loseFirstAnswer && !lost) {
        lost = true;
        response.socket.destroy();
        return;
      }
    }
    reply(response, 201, stored);
  };
  return { behaviour, created };
}
