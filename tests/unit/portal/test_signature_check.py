"""The checker agrees with the engine's own signer: what the webhooks service sends
verifies, with the secret that signed it; a changed byte or a wrong secret does not."""

from __future__ import annotations

from portal.signature_check import check_signatures, parse_headers
from services.webhooks.signing import delivery_headers, new_secret

BODY = b'{"eventId":"evt_1","eventType":"webhook.test","createdAt":"2026-12-01T00:00:00Z","data":{}}'
NOW_S = 1_800_000_000


def sent(secrets_newest_first: list[str], body: bytes = BODY) -> dict[str, str]:
    headers = delivery_headers(
        body=body,
        event_id="evt_1",
        event_type="webhook.test",
        delivery_id="dlv_1",
        attempt_number=1,
        timestamp_s=NOW_S - 12,
        secrets_newest_first=secrets_newest_first,
    )
    # As a receiver logs them and pastes them.
    return parse_headers("\n".join(f"{name}: {value}" for name, value in headers.items()))


def test_a_delivery_verifies_with_the_secret_that_signed_it() -> None:
    secret = new_secret()
    result = check_signatures(sent([secret]), BODY, {"current": secret, "previous": ""}, now_s=NOW_S)
    assert result.guide.verified and result.guide.matched_secret == "current"
    assert result.standard.verified and result.standard.matched_secret == "current"
    assert result.guide.expected["current"] == result.guide.received
    assert result.skew_s == 12 and result.within_tolerance


def test_after_a_rotation_old_and_new_deliveries_are_told_apart() -> None:
    old, new = new_secret(), new_secret()
    secrets = {"current": new, "previous": old}
    before = check_signatures(sent([old]), BODY, secrets, now_s=NOW_S)
    during = check_signatures(sent([new, old]), BODY, secrets, now_s=NOW_S)
    assert (before.guide.matched_secret, before.standard.matched_secret) == ("previous", "previous")
    assert (during.guide.matched_secret, during.standard.matched_secret) == ("current", "current")


def test_a_changed_body_or_a_wrong_secret_does_not_verify() -> None:
    secret = new_secret()
    tampered = check_signatures(
        sent([secret]), BODY.replace(b"evt_1", b"evt_2"), {"current": secret}, now_s=NOW_S
    )
    wrong = check_signatures(sent([secret]), BODY, {"current": new_secret()}, now_s=NOW_S)
    for result in (tampered, wrong):
        assert not result.guide.verified and not result.standard.verified
        assert result.guide.matched_secret == "" and result.standard.matched_secret == ""


def test_missing_headers_and_old_timestamps_are_named() -> None:
    secret = new_secret()
    result = check_signatures({}, BODY, {"current": secret}, now_s=NOW_S)
    assert not result.guide.present and result.guide.problem
    assert not result.standard.present and result.standard.problem
    late = check_signatures(sent([secret]), BODY, {"current": secret}, now_s=NOW_S + 3600)
    assert late.standard.verified and not late.within_tolerance


def test_a_secret_that_is_not_whsec_is_reported_not_crashed_on() -> None:
    result = check_signatures(sent([new_secret()]), BODY, {"current": "whsec_not*base64!"}, now_s=NOW_S)
    assert not result.standard.verified
    assert "not a whsec_ secret" in result.standard.problem
