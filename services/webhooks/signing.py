"""Endpoint secrets and the signatures every delivery carries.

One secret string serves both verification styles an integrator may use:

* the guide's `verifyWebhookSignature` / `verify_webhook_signature`: HMAC-SHA256 of the
  raw body, keyed with the secret string's UTF-8 bytes, sent as
  `X-Webhook-Signature: sha256=<hex>`. The guide compares the whole header with one
  expected value (Node's timingSafeEqual even throws on a length mismatch), so this
  header carries exactly one signature: the current secret's.
* Standard Webhooks (`standardwebhooks` libraries): the secret is `whsec_<base64 key>`,
  the signed content `<webhook-id>.<webhook-timestamp>.<body>`, and `webhook-signature`
  lists `v1,<base64>` signatures separated by spaces — so during a rotation it carries
  the current and the previous secret's signatures.

During a rotation's overlap the previous secret's guide-style signature is also sent,
as `X-Webhook-Signature-Previous`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 — the format's prefix, not a secret
# Standard Webhooks asks for 24 to 64 bytes of key.
SECRET_KEY_BYTES: Final = 32
USER_AGENT: Final = "PaymentEngine-Webhooks/1"

HEADER_SIGNATURE: Final = "X-Webhook-Signature"
HEADER_SIGNATURE_PREVIOUS: Final = "X-Webhook-Signature-Previous"
HEADER_ID: Final = "X-Webhook-Id"
HEADER_TIMESTAMP: Final = "X-Webhook-Timestamp"
HEADER_EVENT_TYPE: Final = "X-Webhook-Event-Type"
HEADER_DELIVERY_ID: Final = "X-Webhook-Delivery-Id"
HEADER_ATTEMPT: Final = "X-Webhook-Attempt"
STANDARD_ID: Final = "webhook-id"
STANDARD_TIMESTAMP: Final = "webhook-timestamp"
STANDARD_SIGNATURE: Final = "webhook-signature"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).decode()


def secret_hint(secret: str) -> str:
    """A few characters to recognise a secret in logs without revealing it."""
    return secret[: len(SECRET_PREFIX) + 4] + "…"


def guide_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def delivery_headers(
    *,
    body: bytes,
    event_id: str,
    event_type: str,
    delivery_id: str,
    attempt_number: int,
    timestamp_s: int,
    secrets_newest_first: Sequence[str],
) -> dict[str, str]:
    """Every header of one attempt. `secrets_newest_first` is the current secret, then
    the previous one while its overlap lasts."""
    if not 1 <= len(secrets_newest_first) <= 2:
        raise ValueError("one current secret and at most one previous secret")
    current = secrets_newest_first[0]
    # The event id names the message: the same across retries and redeliveries, as
    # Standard Webhooks asks, so receivers deduplicate by it as the guide advises.
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_ID: event_id,
        HEADER_TIMESTAMP: str(timestamp_s),
        HEADER_SIGNATURE: guide_signature(current, body),
        HEADER_EVENT_TYPE: event_type,
        HEADER_DELIVERY_ID: delivery_id,
        HEADER_ATTEMPT: str(attempt_number),
        STANDARD_ID: event_id,
        STANDARD_TIMESTAMP: str(timestamp_s),
        STANDARD_SIGNATURE: " ".join(
            standard_signature(secret, event_id, timestamp_s, body) for secret in secrets_newest_first
        ),
    }
    if len(secrets_newest_first) == 2:
        headers[HEADER_SIGNATURE_PREVIOUS] = guide_signature(secrets_newest_first[1], body)
    return headers
