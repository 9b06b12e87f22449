"""What the accounts service announces of an opened account, and what a listener makes of
any payload on the channel."""

from __future__ import annotations

import pytest

from corelib.account_announcements import PAYLOAD_BYTES_MAX, OpenedAccount, announcement, opened_account


def test_an_announcement_reads_back_as_the_account_it_announces() -> None:
    account = OpenedAccount("acc_01jfx3k2q8z7n5b4c3d2e1f0gh", "org_01jfx3k2q8z7n5b4c3d2e1f0gh", "EUR")
    assert opened_account(announcement(account)) == account


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "acc_1",
        "[1, 2]",
        '{"id": "acc_1", "tenantId": "org_1"}',
        '{"id": "acc_1", "tenantId": "org_1", "currencyCode": 840}',
        '{"id": "", "tenantId": "org_1", "currencyCode": "USD"}',
        '{"id": "acc_1", "tenantId": "org_1", "currencyCode": "USD", "pad": "'
        + "x" * PAYLOAD_BYTES_MAX
        + '"}',
    ],
)
def test_anything_else_on_the_channel_is_ignored(payload: str) -> None:
    assert opened_account(payload) is None
