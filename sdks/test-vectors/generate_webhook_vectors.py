"""Writes webhook-signatures.json: the shared webhook signature vectors every SDK's tests run.

The signatures come from the engine's own signing code (`services/webhooks/signing.py`,
and the delivery body from `services/webhooks/delivery.py`), so the vectors are exactly
what the engine sends. Secrets and times are fixed, so the output is the same on every
run; `sdks/python/tests/test_shared_vectors.py` fails when the committed file is stale.

    .venv/bin/python sdks/test-vectors/generate_webhook_vectors.py            # rewrite the file
    .venv/bin/python sdks/test-vectors/generate_webhook_vectors.py --check    # exit 1 when it is stale
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.webhooks import signing  # noqa: E402
from services.webhooks.delivery import event_body  # noqa: E402

VECTORS_PATH: Final = Path(__file__).resolve().with_name("webhook-signatures.json")
FORMAT_VERSION: Final = 1
NOW: Final = 1765000000
TOLERANCE_S: Final = 300
GUIDE: Final = "x-webhook-signature"
STANDARD: Final = "standard-webhooks"


def _secret(seed: int) -> str:
    # A fixed whsec_ secret of the engine's shape (32 key bytes, base64).
    return signing.SECRET_PREFIX + base64.b64encode(bytes((seed + i) % 256 for i in range(32))).decode()


SECRET: Final = _secret(1)
SECRET_PREVIOUS: Final = _secret(101)
SECRET_OTHER: Final = _secret(201)


def _body(event_id: str, amount: float, description: str = "Invoice payment") -> str:
    created = datetime.fromtimestamp(NOW, tz=UTC)
    data = {
        "transactionId": "txn_01JEXAMPLE0000000000000001",
        "transactionReference": "order-1001",
        "externalReference": "order-1001",
        "status": "COMPLETED",
        "failureReason": "",
        "amount": amount,
        "currencyCode": "USD",
        "paymentTypeId": "RTP",
        "fromAccountId": "test_acc_001",
        "toAccountId": "test_acc_002",
        "description": description,
    }
    return event_body(
        event_id=event_id, event_type="transaction.completed", created_at=created, data=data
    ).decode()


def _headers(body: str, event_id: str, timestamp: int, secrets_newest_first: list[str]) -> dict[str, str]:
    headers = signing.delivery_headers(
        body=body.encode(),
        event_id=event_id,
        event_type="transaction.completed",
        delivery_id="whd_example",
        attempt_number=1,
        timestamp_s=timestamp,
        secrets_newest_first=secrets_newest_first,
    )
    return {name.lower(): value for name, value in headers.items()}


def _vector(
    name: str,
    scheme: str,
    body: str,
    secrets: list[str],
    headers: dict[str, str],
    *,
    valid: bool,
    matched: int | None = None,
    now: int = NOW,
) -> dict[str, Any]:
    assert valid == (matched is not None)
    wanted = (
        (signing.HEADER_SIGNATURE.lower(),)
        if scheme == GUIDE
        else (signing.STANDARD_ID, signing.STANDARD_TIMESTAMP, signing.STANDARD_SIGNATURE)
    )
    vector: dict[str, Any] = {
        "name": name,
        "scheme": scheme,
        "body": body,
        "secrets": secrets,
        "headers": {key: value for key, value in headers.items() if key in wanted},
        "now": now,
        "toleranceSeconds": TOLERANCE_S,
        "valid": valid,
    }
    if matched is not None:
        vector["matchedSecretIndex"] = matched
    return vector


def _guide_vectors() -> list[dict[str, Any]]:
    body = _body("evt_01JEXAMPLE0000000000000001", 1000.0)
    other_body = _body("evt_01JEXAMPLE0000000000000002", 25.5)
    non_ascii = _body("evt_01JEXAMPLE0000000000000003", 42.0, "Café crème \u2013 東京 \u2013 💶 paiement")
    headers = _headers(body, "evt_01JEXAMPLE0000000000000001", NOW, [SECRET])
    signature = headers["x-webhook-signature"]
    digest = signature.removeprefix("sha256=")

    def with_signature(value: str) -> dict[str, str]:
        return {"x-webhook-signature": value}

    return [
        _vector(
            "guide scheme: valid signature of the raw body",
            GUIDE,
            body,
            [SECRET],
            headers,
            valid=True,
            matched=0,
        ),
        _vector(
            "guide scheme: tampered body (amount changed after signing)",
            GUIDE,
            body.replace("1000.0", "9000.0"),
            [SECRET],
            headers,
            valid=False,
        ),
        _vector(
            "guide scheme: signed with another secret",
            GUIDE,
            body,
            [SECRET],
            _headers(body, "evt_01JEXAMPLE0000000000000001", NOW, [SECRET_OTHER]),
            valid=False,
        ),
        _vector(
            "guide scheme: valid signature of another body",
            GUIDE,
            body,
            [SECRET],
            _headers(other_body, "evt_01JEXAMPLE0000000000000002", NOW, [SECRET]),
            valid=False,
        ),
        _vector(
            "guide scheme: uppercase hex digest (hex is case-insensitive)",
            GUIDE,
            body,
            [SECRET],
            with_signature("sha256=" + digest.upper()),
            valid=True,
            matched=0,
        ),
        _vector("guide scheme: missing header", GUIDE, body, [SECRET], {}, valid=False),
        _vector("guide scheme: empty header", GUIDE, body, [SECRET], with_signature(""), valid=False),
        _vector(
            "guide scheme: malformed header md5=",
            GUIDE,
            body,
            [SECRET],
            with_signature("md5=" + digest),
            valid=False,
        ),
        _vector(
            "guide scheme: malformed header without the sha256= prefix",
            GUIDE,
            body,
            [SECRET],
            with_signature(digest),
            valid=False,
        ),
        _vector(
            "guide scheme: truncated signature",
            GUIDE,
            body,
            [SECRET],
            with_signature(signature[:-2]),
            valid=False,
        ),
        _vector(
            "guide scheme: not hex after sha256=",
            GUIDE,
            body,
            [SECRET],
            with_signature("sha256=" + "zz" * 32),
            valid=False,
        ),
        _vector(
            "guide scheme: non-ASCII body signed as UTF-8",
            GUIDE,
            non_ascii,
            [SECRET],
            _headers(non_ascii, "evt_01JEXAMPLE0000000000000003", NOW, [SECRET]),
            valid=True,
            matched=0,
        ),
        _vector(
            "guide scheme: previous secret during rotation",
            GUIDE,
            body,
            [SECRET, SECRET_PREVIOUS],
            _headers(body, "evt_01JEXAMPLE0000000000000001", NOW, [SECRET_PREVIOUS]),
            valid=True,
            matched=1,
        ),
    ]


def _standard_vectors() -> list[dict[str, Any]]:
    event_id = "evt_01JEXAMPLE0000000000000004"
    body = _body(event_id, 1000.0)
    non_ascii = _body("evt_01JEXAMPLE0000000000000005", 42.0, "Zahlung für Müller \u2013 東京 \u2013 💶")
    headers = _headers(body, event_id, NOW, [SECRET])
    own = signing.standard_signature(SECRET, event_id, NOW, body.encode())
    stranger = signing.standard_signature(SECRET_OTHER, event_id, NOW, body.encode())

    def with_fields(**changes: str) -> dict[str, str]:
        result = dict(headers)
        for key, value in changes.items():
            result[key.replace("_", "-")] = value
        return result

    return [
        _vector(
            "standard webhooks: valid signature", STANDARD, body, [SECRET], headers, valid=True, matched=0
        ),
        _vector(
            "standard webhooks: previous secret during rotation",
            STANDARD,
            body,
            [SECRET, SECRET_PREVIOUS],
            _headers(body, event_id, NOW, [SECRET_PREVIOUS]),
            valid=True,
            matched=1,
        ),
        _vector(
            "standard webhooks: engine signs with new and previous secret, receiver knows only the previous",
            STANDARD,
            body,
            [SECRET_PREVIOUS],
            _headers(body, event_id, NOW, [SECRET, SECRET_PREVIOUS]),
            valid=True,
            matched=0,
        ),
        _vector(
            "standard webhooks: several signatures where only the 2nd matches",
            STANDARD,
            body,
            [SECRET],
            with_fields(webhook_signature=f"{stranger} {own}"),
            valid=True,
            matched=0,
        ),
        _vector(
            "standard webhooks: timestamp too old",
            STANDARD,
            body,
            [SECRET],
            headers,
            valid=False,
            now=NOW + TOLERANCE_S + 1,
        ),
        _vector(
            "standard webhooks: timestamp too far in the future",
            STANDARD,
            body,
            [SECRET],
            headers,
            valid=False,
            now=NOW - TOLERANCE_S - 1,
        ),
        _vector(
            "standard webhooks: timestamp exactly at the tolerance",
            STANDARD,
            body,
            [SECRET],
            headers,
            valid=True,
            matched=0,
            now=NOW + TOLERANCE_S,
        ),
        _vector(
            "standard webhooks: wrong version tag v2",
            STANDARD,
            body,
            [SECRET],
            with_fields(webhook_signature=own.replace("v1,", "v2,", 1)),
            valid=False,
        ),
        _vector(
            "standard webhooks: malformed timestamp",
            STANDARD,
            body,
            [SECRET],
            with_fields(webhook_timestamp=f"{NOW}a"),
            valid=False,
        ),
        _vector(
            "standard webhooks: tampered body",
            STANDARD,
            body.replace("1000.0", "9000.0"),
            [SECRET],
            headers,
            valid=False,
        ),
        _vector(
            "standard webhooks: signature made for another message id",
            STANDARD,
            body,
            [SECRET],
            with_fields(webhook_id="evt_01JEXAMPLE0000000000000099"),
            valid=False,
        ),
        _vector(
            "standard webhooks: signed with another secret",
            STANDARD,
            body,
            [SECRET],
            _headers(body, event_id, NOW, [SECRET_OTHER]),
            valid=False,
        ),
        _vector(
            "standard webhooks: missing webhook-signature",
            STANDARD,
            body,
            [SECRET],
            {key: value for key, value in headers.items() if key != "webhook-signature"},
            valid=False,
        ),
        _vector(
            "standard webhooks: non-ASCII body signed as UTF-8",
            STANDARD,
            non_ascii,
            [SECRET],
            _headers(non_ascii, "evt_01JEXAMPLE0000000000000005", NOW, [SECRET]),
            valid=True,
            matched=0,
        ),
    ]


def render() -> str:
    document = {"version": FORMAT_VERSION, "vectors": _guide_vectors() + _standard_vectors()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = VECTORS_PATH.read_text(encoding="utf-8") if VECTORS_PATH.exists() else ""
        if current != text:
            print(f"{VECTORS_PATH} is stale: run {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    VECTORS_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {VECTORS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
