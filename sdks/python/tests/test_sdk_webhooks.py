"""Webhook signatures: the guide's scheme, X-Webhook-Signature: sha256=<hex HMAC-SHA256>."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from payment_engine import WebhookSignatureError, compute_signature, construct_event, verify_signature

SECRET = "whsec_test_secret"
PAYLOAD = json.dumps(
    {
        "eventId": "evt_1",
        "eventType": "transaction.completed",
        "createdAt": "2024-01-15T10:30:00Z",
        "data": {"transactionId": "txn_1", "transactionReference": "order-7", "amount": 19.99},
    }
).encode()


def _guide_signature(payload: str, secret: str) -> str:
    # The guide's Python example, verbatim in substance.
    expected_signature = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sha256={expected_signature}"


def test_a_signature_made_as_the_guide_makes_it_verifies() -> None:
    signature = _guide_signature(PAYLOAD.decode(), SECRET)
    assert compute_signature(PAYLOAD, SECRET) == signature
    assert verify_signature(PAYLOAD, signature, SECRET)
    assert verify_signature(PAYLOAD.decode(), signature, SECRET)


@pytest.mark.parametrize(
    ("payload", "signature", "secret"),
    [
        (PAYLOAD, compute_signature(PAYLOAD, "whsec_other"), SECRET),
        (PAYLOAD + b" ", compute_signature(PAYLOAD, SECRET), SECRET),
        (PAYLOAD, None, SECRET),
        (PAYLOAD, "", SECRET),
        (PAYLOAD, compute_signature(PAYLOAD, SECRET).removeprefix("sha256="), SECRET),
        (PAYLOAD, "sha1=" + compute_signature(PAYLOAD, SECRET).removeprefix("sha256="), SECRET),
        (PAYLOAD, "sha256=not-hex-ü", SECRET),
    ],
)
def test_anything_else_does_not_verify(payload: bytes, signature: str | None, secret: str) -> None:
    assert not verify_signature(payload, signature, secret)


def test_hex_case_and_surrounding_space_do_not_matter() -> None:
    signature = compute_signature(PAYLOAD, SECRET)
    assert verify_signature(PAYLOAD, " " + signature.upper().replace("SHA256=", "sha256=") + " ", SECRET)


def test_during_rotation_either_secret_verifies() -> None:
    old_signature = compute_signature(PAYLOAD, "whsec_old")
    assert verify_signature(PAYLOAD, old_signature, ["whsec_new", "whsec_old"])
    assert not verify_signature(PAYLOAD, old_signature, ["whsec_new"])


def test_an_empty_secret_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        verify_signature(PAYLOAD, compute_signature(PAYLOAD, SECRET), "")


def test_construct_event_verifies_and_parses() -> None:
    event = construct_event(PAYLOAD, compute_signature(PAYLOAD, SECRET), SECRET)

    assert event.event_id == event.id == "evt_1"
    assert event.event_type == "transaction.completed"
    assert event.data["transactionId"] == "txn_1"
    assert event.data["amount"] == Decimal("19.99")
    assert event.created_at is not None and event.created_at.year == 2024


def test_construct_event_refuses_a_bad_signature() -> None:
    with pytest.raises(WebhookSignatureError) as caught:
        construct_event(PAYLOAD, compute_signature(PAYLOAD, "whsec_other"), SECRET)
    assert caught.value.code == "INVALID_SIGNATURE"


def test_construct_event_refuses_an_authentic_body_that_is_not_an_event() -> None:
    body = b"[1, 2]"
    with pytest.raises(ValueError, match="object"):
        construct_event(body, compute_signature(body, SECRET), SECRET)
    body = b"not json"
    with pytest.raises(ValueError, match="JSON"):
        construct_event(body, compute_signature(body, SECRET), SECRET)
