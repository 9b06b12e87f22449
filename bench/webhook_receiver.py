"""The bench's webhook receiver, in its own process so it does not share a CPU with the
producer: answers every POST with 200 at once and notes when each event arrived.

    python bench/webhook_receiver.py            # prints {"port": N} and serves
    GET /stats                                  # {"<eventId>": <arrival unix time>, …}
    GET /events                                 # [[eventId, eventType, createdAt,
                                                #   transactionId, arrival unix time], …]
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
import uvicorn
import uvloop

# Memory bound: far more events than a run delivers; later ones are answered, not noted.
EVENTS_MAX: Final = 2_000_000
BACKLOG: Final = 4096
# An event body arrives in one or a few chunks; a sender that streams more is cut off.
BODY_CHUNKS_MAX: Final = 1024

arrivals: dict[str, float] = {}
events: dict[str, tuple[str, str, str, float]] = {}


def _note(event_id: str, body: bytes, arrived: float) -> None:
    if event_id in arrivals or len(arrivals) >= EVENTS_MAX:
        return
    arrivals[event_id] = arrived
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    data = document.get("data")
    transaction_id = data.get("transactionId", "") if isinstance(data, dict) else ""
    events[event_id] = (
        str(document.get("eventType", "")),
        str(document.get("createdAt", "")),
        str(transaction_id),
        arrived,
    )


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    for _ in range(BODY_CHUNKS_MAX):
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["method"] == "GET" and scope["path"] == "/events":
        body = orjson.dumps([[event_id, *fields] for event_id, fields in events.items()])
    elif scope["method"] == "GET":
        body = orjson.dumps(arrivals)
    else:
        arrived = time.time()
        headers = dict(scope["headers"])
        _note(headers.get(b"x-webhook-id", b"").decode(), b"".join(chunks), arrived)
        body = b"OK"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", backlog=BACKLOG)
    uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
