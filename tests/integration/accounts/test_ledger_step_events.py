"""A hold posted or voided in its own step (ACH, wires, cancellations) writes everything
in one statement: the hold's move, the journal entry and postings of a post, the
balances and the `account.balance.updated` events. The events are read back where
integrators see them, through `/api/v1/events`, with the balances right after each step."""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

import httpx
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb

from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import (
    accounts_stub,
    funded_payer_and_payee,
    ledger_stub,
    new_tenant,
    service_metadata,
)
from tests.integration.accounts.test_ledger_model import reconcile_now

EVENTS_DEADLINE_S: Final = 15.0
POLL_INTERVAL_S: Final = 0.2


def _balance_events(http: httpx.Client, hold_ids: set[str]) -> list[dict[str, Any]]:
    response = http.get("/api/v1/events", params={"eventType": "account.balance.updated", "pageSize": 100})
    assert response.status_code == 200, response.text
    return [e["data"] for e in response.json()["events"] if e["data"].get("transactionId") in hold_ids]


def test_a_post_and_a_void_record_their_balances_events_and_journal(engine_stack: EngineHandle) -> None:
    tenant = new_tenant(engine_stack, "Ledger steps")
    accounts, ledger = accounts_stub(engine_stack), ledger_stub(engine_stack)
    service = service_metadata(engine_stack)
    payer, payee = funded_payer_and_payee(engine_stack, tenant, 1000.0)
    posted_id, voided_id = f"txn_post_{uuid.uuid4().hex}", f"txn_void_{uuid.uuid4().hex}"
    for hold_id, amount_minor in ((posted_id, 30_000), (voided_id, 20_000)):
        ledger.PlaceHold(
            pb.PlaceHoldRequest(
                hold_id=hold_id,
                tenant_id=tenant.tenant_id,
                account_id=payer,
                amount_minor=amount_minor,
                currency_code="USD",
            ),
            metadata=service,
        )
    posted = ledger.PostHold(
        pb.PostHoldRequest(hold_id=posted_id, payee_account_id=payee), metadata=service
    ).hold
    voided = ledger.VoidHold(pb.VoidHoldRequest(hold_id=voided_id), metadata=service).hold
    assert (posted.status, posted.payee_account_id) == (pb.HOLD_STATUS_POSTED, payee)
    assert posted.journal_entry_id.startswith("jnl_")
    assert (voided.status, voided.journal_entry_id) == (pb.HOLD_STATUS_VOIDED, "")

    balances = {
        account_id: accounts.GetBalance(pb.GetBalanceRequest(account_id=account_id), metadata=tenant.metadata)
        for account_id in (payer, payee)
    }
    assert (balances[payer].current_balance, balances[payer].held_balance) == (700.0, 0.0)
    assert (balances[payee].current_balance, balances[payee].held_balance) == (300.0, 0.0)

    expected = {
        (payer, "payment_sent", posted_id): (700.0, 200.0),
        (payee, "payment_received", posted_id): (300.0, 0.0),
        (payer, "hold_released", voided_id): (700.0, 0.0),
    }
    deadline = time.monotonic() + EVENTS_DEADLINE_S
    with httpx.Client(base_url=engine_stack.base_url, headers={"X-API-Key": tenant.api_key}) as http:
        while True:
            seen = {
                (e["accountId"], e["cause"], e["transactionId"]): (e["currentBalance"], e["heldBalance"])
                for e in _balance_events(http, {posted_id, voided_id})
            }
            if expected.keys() <= seen.keys() or time.monotonic() > deadline:
                break
            time.sleep(POLL_INTERVAL_S)
    # The post moved the money out of the payer's held amount while the other hold
    # still stood; the void released only that other hold.
    assert {key: seen.get(key) for key in expected} == expected

    report = reconcile_now(engine_stack.database_url)
    assert report.clean, report
