"""Checks a webhook a receiver got, as the receiver should: the guide's
X-Webhook-Signature (hex HMAC-SHA256 of the raw body, keyed with the secret string) and
the Standard Webhooks `webhook-signature` (base64 HMAC-SHA256 of `id.timestamp.body`,
keyed with the secret's decoded key), each against the current and the previous secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 — the format's prefix, not a secret
HEADER_LINES_MAX: Final = 100
# Standard Webhooks' libraries refuse messages more than five minutes off.
TIMESTAMP_TOLERANCE_S: Final = 300


@dataclass(frozen=True)
class SchemeResult:
    scheme: str
    present: bool
    verified: bool
    # "current", "previous" or "" when no secret matched.
    matched_secret: str
    received: str
    expected: dict[str, str]
    problem: str = ""


@dataclass(frozen=True)
class CheckResult:
    guide: SchemeResult
    standard: SchemeResult
    timestamp_s: int | None
    skew_s: int | None

    @property
    def within_tolerance(self) -> bool:
        return self.skew_s is not None and abs(self.skew_s) <= TIMESTAMP_TOLERANCE_S


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines, as a receiver logs them; names compared case-insensitively."""
    headers: dict[str, str] = {}
    for line in text.splitlines()[:HEADER_LINES_MAX]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers


def guide_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str | None:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check_signatures(
    headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], *, now_s: int
) -> CheckResult:
    """`secrets` maps "current" / "previous" to the secrets to try (empty ones skipped)."""
    usable = {name: value.strip() for name, value in secrets.items() if value.strip()}

    received_guide = headers.get("x-webhook-signature", "")
    received_previous = headers.get("x-webhook-signature-previous", "")
    guide_expected = {name: guide_signature(secret, body) for name, secret in usable.items()}
    guide_match = ""
    for name, expected in guide_expected.items():
        if received_guide and _equal(expected, received_guide):
            guide_match = name
            break
    if not guide_match and received_previous:
        for name, expected in guide_expected.items():
            if _equal(expected, received_previous):
                guide_match = name
                break
    guide = SchemeResult(
        scheme="X-Webhook-Signature",
        present=bool(received_guide),
        verified=bool(guide_match),
        matched_secret=guide_match,
        received=received_guide + (f" (previous: {received_previous})" if received_previous else ""),
        expected=guide_expected,
        problem="" if received_guide else "The X-Webhook-Signature header is missing.",
    )

    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "") or headers.get("x-webhook-timestamp", "")
    received_standard = headers.get("webhook-signature", "")
    offered = received_standard.split()
    standard_expected: dict[str, str] = {}
    standard_match = ""
    problem = ""
    if not (message_id and timestamp and received_standard):
        problem = "webhook-id, webhook-timestamp or webhook-signature is missing."
    for name, secret in usable.items():
        signature = standard_signature(secret, message_id, timestamp, body)
        if signature is None:
            problem = f"The {name} secret is not a whsec_ secret."
            continue
        standard_expected[name] = signature
        if not standard_match and any(_equal(signature, candidate) for candidate in offered):
            standard_match = name
    standard = SchemeResult(
        scheme="Standard Webhooks",
        present=bool(received_standard),
        verified=bool(standard_match),
        matched_secret=standard_match,
        received=received_standard,
        expected=standard_expected,
        problem=problem,
    )

    timestamp_s = int(timestamp) if timestamp.isdigit() else None
    skew_s = now_s - timestamp_s if timestamp_s is not None else None
    return CheckResult(guide=guide, standard=standard, timestamp_s=timestamp_s, skew_s=skew_s)
