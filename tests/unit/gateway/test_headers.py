"""Which header values the gateway forwards or echoes: printable ASCII only, the space
allowed in forwarded values but not in a request id."""

from __future__ import annotations

import pytest

from corelib.errors import ServiceError
from gateway.headers import _is_printable_ascii, backend_metadata, request_id_from


def per_character(value: str, *, spaces: bool) -> bool:
    """The definition: every character's code point within the printable ASCII range."""
    low = 0x20 if spaces else 0x21
    return all(low <= ord(char) <= 0x7E for char in value)


@pytest.mark.parametrize("spaces", [True, False])
def test_every_latin1_character_is_judged_by_the_definition(spaces: bool) -> None:
    # Headers are decoded as latin-1, so these are all the characters a value can hold.
    for code in range(0x100):
        char = chr(code)
        for value in (char, f"a{char}", f"{char}b", f"ab{char}cd"):
            assert _is_printable_ascii(value, spaces=spaces) == per_character(value, spaces=spaces), (
                hex(code),
                value,
            )


@pytest.mark.parametrize(
    ("value", "with_spaces", "without_spaces"),
    [
        ("", True, True),
        (" ", True, False),
        ("a b", True, False),
        ("\t", False, False),
        ("a\tb", False, False),
        ("\x7f", False, False),
        ("key\x7f", False, False),
        ("\x1f", False, False),
        ("!", True, True),
        ("~", True, True),
        ("Bearer abc.DEF-_~+/=", True, False),
        ("é", False, False),
        ("\x80", False, False),
        ("\xa0", False, False),
        ("\xff", False, False),
        ("\u2028", False, False),
        ("\u3000", False, False),
        ("\ud800", False, False),
        ("ok\U0001f600", False, False),
        ("x" * 10_000, True, True),
    ],
)
def test_edge_cases(value: str, with_spaces: bool, without_spaces: bool) -> None:
    assert _is_printable_ascii(value, spaces=True) is with_spaces
    assert _is_printable_ascii(value, spaces=False) is without_spaces
    assert with_spaces == per_character(value, spaces=True)
    assert without_spaces == per_character(value, spaces=False)


@pytest.mark.parametrize("offered", ["trace 42", "trace\t42", "trace\x7f", "tracé", ""])
def test_unprintable_request_id_is_replaced(offered: str) -> None:
    assert request_id_from({"x-request-id": offered}).startswith("req_")


def test_printable_request_id_is_kept() -> None:
    assert request_id_from({"x-request-id": "trace-42!~"}) == "trace-42!~"


@pytest.mark.parametrize("value", ["key\t1", "key\x7f", "clé", "key\x00"])
def test_unprintable_forwarded_header_is_refused_by_name(value: str) -> None:
    with pytest.raises(ServiceError) as raised:
        backend_metadata({"idempotency-key": value}, request_id="req_1", client_chain="", principal=None)
    assert raised.value.reason == "INVALID_REQUEST"
    assert raised.value.details == {"header": "idempotency-key"}


def test_forwarded_headers_keep_their_order_and_spaces() -> None:
    metadata = backend_metadata(
        {"authorization": "Bearer a b", "idempotency-key": "k 1", "x-api-key": "", "other": "x"},
        request_id="req_1",
        client_chain="203.0.113.7, 10.0.0.1",
        principal="assertion",
    )
    assert metadata == (
        ("authorization", "Bearer a b"),
        ("idempotency-key", "k 1"),
        ("x-request-id", "req_1"),
        ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
        ("x-pe-principal", "assertion"),
    )
