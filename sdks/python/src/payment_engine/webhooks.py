"""Checking that a webhook came from the engine, and reading it.

Every delivery is an HTTP POST of the event JSON with the header

    X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body, key = the endpoint's secret>

(the guide's scheme; the secret is the `whsec_…` string shown when the endpoint was
created, used as is). Verify the raw bytes you received — not JSON you parsed and
serialized again, whose bytes differ:

    @app.route("/webhooks/payment-engine", methods=["POST"])
    def handle_webhook():
        try:
            event = construct_event(
                request.get_data(), request.headers.get("X-Webhook-Signature"), WEBHOOK_SECRET
            )
        except WebhookSignatureError:
            return "Invalid signature", 401
        handle_webhook_event(event)      # event.event_type, event.data["transactionId"], …
        return "OK", 200

While a secret is being rotated, pass both secrets (`[new, old]`): a signature made with
either is accepted. Delivery is at least once, so handle `event.event_id` idempotently.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final, TypeAlias

from payment_engine import wire
from payment_engine.errors import WebhookSignatureError
from payment_engine.models import Event

SIGNATURE_HEADER: Final = "X-Webhook-Signature"
PREVIOUS_SIGNATURE_HEADER: Final = "X-Webhook-Signature-Previous"
SIGNATURE_SCHEME: Final = "sha256="
SIGNATURE_LENGTH_MAX: Final = 512
SECRETS_MAX: Final = 8

Secret: TypeAlias = str | bytes
Secrets: TypeAlias = Secret | Sequence[Secret]


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _secrets(secret: Secrets) -> list[bytes]:
    candidates = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not candidates or len(candidates) > SECRETS_MAX:
        raise ValueError(f"give 1 to {SECRETS_MAX} webhook secrets")
    keys = [_as_bytes(candidate) for candidate in candidates]
    if not all(keys):
        raise ValueError("a webhook secret must not be empty")
    return keys


def compute_signature(payload: bytes | str, secret: Secret) -> str:
    """The X-Webhook-Signature value the engine sends for `payload`: `sha256=<hex>`."""
    digest = hmac.new(_as_bytes(secret), _as_bytes(payload), hashlib.sha256).hexdigest()
    return SIGNATURE_SCHEME + digest


def verify_signature(payload: bytes | str, signature: str | None, secret: Secrets) -> bool:
    """Whether `signature` (the X-Webhook-Signature header) was made from exactly this raw
    body with the secret (or one of the secrets). Compares in constant time; a missing or
    malformed header is simply False."""
    keys = _secrets(secret)
    if not signature or len(signature) > SIGNATURE_LENGTH_MAX:
        return False
    offered = signature.strip()
    if offered[: len(SIGNATURE_SCHEME)].lower() != SIGNATURE_SCHEME:
        return False
    offered_bytes = (SIGNATURE_SCHEME + offered[len(SIGNATURE_SCHEME) :].lower()).encode("ascii", "replace")
    body = _as_bytes(payload)
    matched = False
    for key in keys:
        expected = compute_signature(body, key).encode("ascii")
        # Every secret is tried, so the time taken does not tell which one matched.
        matched |= hmac.compare_digest(expected, offered_bytes)
    return matched


def construct_event(payload: bytes | str, signature: str | None, secret: Secrets) -> Event:
    """Verifies the signature, then parses the body into an `Event` (amounts as Decimal).

    Raises WebhookSignatureError when the signature does not match, ValueError when the
    (authentic) body is not an event object."""
    if not verify_signature(payload, signature, secret):
        raise WebhookSignatureError(
            "Webhook signature does not match the payload and secret "
            "(check that you verify the raw body and the endpoint's current secret)"
        )
    try:
        document = wire.loads(payload)
    except ValueError as exc:
        raise ValueError("Webhook payload is not valid JSON") from exc
    if not isinstance(document, dict):
        raise ValueError("Webhook payload is not a JSON object")
    return Event.from_json(document)
