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

Every delivery is also signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64> …`, keyed with the base64 part of the `whsec_` secret over
`<id>.<timestamp>.<body>`). `verify_standard(payload, request.headers, secret)` checks it
and refuses a timestamp more than `tolerance_seconds` away from now, so a captured
delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

from payment_engine import wire
from payment_engine.errors import WebhookSignatureError
from payment_engine.models import Event

SIGNATURE_HEADER: Final = "X-Webhook-Signature"
PREVIOUS_SIGNATURE_HEADER: Final = "X-Webhook-Signature-Previous"
SIGNATURE_SCHEME: Final = "sha256="
SIGNATURE_LENGTH_MAX: Final = 512
SECRETS_MAX: Final = 8
STANDARD_ID_HEADER: Final = "webhook-id"
STANDARD_TIMESTAMP_HEADER: Final = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER: Final = "webhook-signature"
STANDARD_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 — the format's prefix, not a secret
STANDARD_VERSION: Final = "v1"
STANDARD_TOLERANCE_DEFAULT_S: Final = 300
STANDARD_SIGNATURES_MAX: Final = 16
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS: Final = re.compile(r"[0-9]{1,15}")

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


def signature_match_index(payload: bytes | str, signature: str | None, secret: Secrets) -> int | None:
    """Which of the secrets made `signature` (the X-Webhook-Signature header) from exactly
    this raw body, or None. Compares in constant time."""
    keys = _secrets(secret)
    if not signature or len(signature) > SIGNATURE_LENGTH_MAX:
        return None
    offered = signature.strip()
    if offered[: len(SIGNATURE_SCHEME)].lower() != SIGNATURE_SCHEME:
        return None
    digest = offered[len(SIGNATURE_SCHEME) :]
    if not _HEX_DIGEST.fullmatch(digest):
        return None
    offered_bytes = (SIGNATURE_SCHEME + digest.lower()).encode("ascii")
    body = _as_bytes(payload)
    matched: int | None = None
    for index, key in enumerate(keys):
        expected = compute_signature(body, key).encode("ascii")
        # Every secret is tried, so the time taken does not tell which one matched.
        if hmac.compare_digest(expected, offered_bytes) and matched is None:
            matched = index
    return matched


def verify_signature(payload: bytes | str, signature: str | None, secret: Secrets) -> bool:
    """Whether `signature` (the X-Webhook-Signature header) was made from exactly this raw
    body with the secret (or one of the secrets). Compares in constant time; a missing or
    malformed header is simply False."""
    return signature_match_index(payload, signature, secret) is not None


def _standard_key(secret: bytes) -> bytes:
    encoded = secret.removeprefix(STANDARD_SECRET_PREFIX.encode())
    try:
        return base64.b64decode(encoded + b"=" * (-len(encoded) % 4))
    except binascii.Error as exc:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64") from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def compute_standard_signature(
    payload: bytes | str, secret: Secret, message_id: str, timestamp_s: int
) -> str:
    """The `v1,<base64>` Standard Webhooks signature of one message."""
    signed = f"{message_id}.{timestamp_s}.".encode() + _as_bytes(payload)
    digest = hmac.new(_standard_key(_as_bytes(secret)), signed, hashlib.sha256).digest()
    return f"{STANDARD_VERSION}," + base64.b64encode(digest).decode()


def standard_match_index(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: Secrets,
    *,
    tolerance_seconds: int = STANDARD_TOLERANCE_DEFAULT_S,
    now: float | None = None,
) -> int | None:
    """Which of the secrets signed this delivery the Standard Webhooks way, or None (also
    when the timestamp is more than `tolerance_seconds` from `now`, either way)."""
    keys = _secrets(secret)
    message_id = _header(headers, STANDARD_ID_HEADER)
    timestamp_text = _header(headers, STANDARD_TIMESTAMP_HEADER)
    signatures = _header(headers, STANDARD_SIGNATURE_HEADER)
    if not message_id or not timestamp_text or not signatures or len(signatures) > SIGNATURE_LENGTH_MAX * 8:
        return None
    if not _UNIX_SECONDS.fullmatch(timestamp_text.strip()):
        return None
    timestamp = int(timestamp_text.strip())
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return None
    offered: list[bytes] = []
    for entry in signatures.split()[:STANDARD_SIGNATURES_MAX]:
        version, _, encoded = entry.partition(",")
        if version != STANDARD_VERSION:
            continue
        try:
            offered.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    signed = f"{message_id}.{timestamp}.".encode() + _as_bytes(payload)
    matched: int | None = None
    for index, key in enumerate(keys):
        expected = hmac.new(_standard_key(key), signed, hashlib.sha256).digest()
        for candidate in offered:
            if hmac.compare_digest(expected, candidate) and matched is None:
                matched = index
    return matched


def verify_standard(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: Secrets,
    *,
    tolerance_seconds: int = STANDARD_TOLERANCE_DEFAULT_S,
    now: float | None = None,
) -> bool:
    """Whether a delivery's Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`, names in any case) verify with the secret (or one of the secrets)
    and its timestamp is within `tolerance_seconds` of now."""
    return (
        standard_match_index(payload, headers, secret, tolerance_seconds=tolerance_seconds, now=now)
        is not None
    )


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
