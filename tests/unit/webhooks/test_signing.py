"""Signatures: what the guide's function, the Standard Webhooks library and a rotation
need from the headers."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from standardwebhooks import Webhook

from services.webhooks.delivery import event_body
from services.webhooks.signing import (
    SECRET_KEY_BYTES,
    delivery_headers,
    guide_signature,
    new_secret,
)
from tests.integration.webhooks.receivers import guide_verify

BODY = event_body(
    event_id="evt_1",
    event_type="transaction.completed",
    created_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
    data={"transactionId": "txn_1", "transactionReference": "ORDER-ü", "amount": 1000.0},
)


def headers_for(*secrets: str, timestamp_s: int = 1_700_000_000) -> dict[str, str]:
    return delivery_headers(
        body=BODY,
        event_id="evt_1",
        event_type="transaction.completed",
        delivery_id="dlv_1",
        attempt_number=1,
        timestamp_s=timestamp_s,
        secrets_newest_first=list(secrets),
    )


def test_a_secret_is_a_standard_webhooks_secret() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == SECRET_KEY_BYTES
    assert new_secret() != secret


def test_the_guides_python_function_accepts_the_header() -> None:
    secret = new_secret()
    headers = headers_for(secret)
    assert guide_verify(BODY.decode("utf-8"), headers["X-Webhook-Signature"], secret)
    assert not guide_verify(BODY.decode("utf-8"), headers["X-Webhook-Signature"], new_secret())
    assert headers["X-Webhook-Signature"] == guide_signature(secret, BODY)


def test_standard_webhooks_accepts_the_headers() -> None:
    secret = new_secret()
    headers = headers_for(secret, timestamp_s=int(time.time()))
    assert Webhook(secret).verify(BODY, headers)["eventId"] == "evt_1"
    assert headers["webhook-id"] == headers["X-Webhook-Id"] == "evt_1"


def test_during_rotation_both_secrets_verify() -> None:
    current, previous = new_secret(), new_secret()
    headers = headers_for(current, previous, timestamp_s=int(time.time()))
    assert Webhook(current).verify(BODY, headers) is not None
    assert Webhook(previous).verify(BODY, headers) is not None
    text = BODY.decode("utf-8")
    assert guide_verify(text, headers["X-Webhook-Signature"], current)
    assert guide_verify(text, headers["X-Webhook-Signature-Previous"], previous)
    # One value in the guide's header: Node's timingSafeEqual would throw on two.
    assert headers["X-Webhook-Signature"].count("sha256=") == 1


def test_the_body_has_exactly_the_guides_fields() -> None:
    assert BODY == (
        b'{"eventId":"evt_1","eventType":"transaction.completed","createdAt":"2024-01-15T10:30:00Z",'
        b'"data":{"transactionId":"txn_1","transactionReference":"ORDER-\xc3\xbc","amount":1000.0}}'
    )
