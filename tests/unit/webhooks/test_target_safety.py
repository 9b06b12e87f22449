from __future__ import annotations

import ipaddress

import pytest

from corelib.errors import ServiceError
from services.webhooks.target_safety import (
    UnsafeTarget,
    checked_addresses,
    is_public_address,
    validate_endpoint_url,
)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_sandbox_urls() -> None:
    assert (
        validate_endpoint_url(" http://localhost:3000/hook ", production=False)
        == "http://localhost:3000/hook"
    )
    assert validate_endpoint_url("http://10.0.0.5/hook", production=False) == "http://10.0.0.5/hook"
    for bad in ("ftp://example.com", "http://", "mailto:a@b.c", "https://u:p@example.com/"):
        with pytest.raises(ServiceError) as refused:
            validate_endpoint_url(bad, production=False)
        assert refused.value.reason == "INVALID_REQUEST" and refused.value.details["field"] == "url"


def test_production_urls() -> None:
    assert validate_endpoint_url("https://hooks.example.com/x", production=True)
    for bad in (
        "http://hooks.example.com/x",
        "https://localhost/x",
        "https://app.localhost/x",
        "https://[::1]/",
    ):
        with pytest.raises(ServiceError):
            validate_endpoint_url(bad, production=True)


async def test_a_host_is_refused_if_any_address_is_internal() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"ok.example": ["93.184.216.34"], "mixed.example": ["93.184.216.34", "192.168.0.1"]}[host]

    assert await checked_addresses("ok.example", 443, resolver, allow_internal=False) == ["93.184.216.34"]
    with pytest.raises(UnsafeTarget, match=r"192\.168\.0\.1"):
        await checked_addresses("mixed.example", 443, resolver, allow_internal=False)
    assert len(await checked_addresses("mixed.example", 443, resolver, allow_internal=True)) == 2


async def test_an_unresolvable_host_is_a_failed_attempt_not_a_crash() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeTarget, match="cannot resolve"):
        await checked_addresses("nowhere.example", 443, resolver, allow_internal=False)
