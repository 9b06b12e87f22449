"""What the pages print: payloads exactly as the API sent them."""

from __future__ import annotations

from portal.api_client import parse_json
from portal.rendering import format_amount, json_text


def test_payloads_show_numbers_as_the_api_sent_them() -> None:
    data = parse_json(b'{"amount": 21.02, "big": 10000000000000000.01, "list": [1.5, "1.5"], "ok": true}')
    assert json_text(data) == '{"amount":21.02,"big":10000000000000000.01,"list":[1.5,"1.5"],"ok":true}'
    assert '"amount": 21.02' in json_text(data, indent=2)


def test_amounts_keep_their_cents() -> None:
    assert format_amount(parse_json(b"13.01")) == "13.01"
    assert format_amount(parse_json(b"1234567.5")) == "1,234,567.50"
    assert format_amount(None) == "\u2014"
