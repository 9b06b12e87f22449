"""The public accounts API over gRPC against the running engine: lifecycle, balances,
statements, funding, tenancy and bad input."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import psycopg
import pytest
from google.protobuf import json_format, struct_pb2
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb

from corelib.account_announcements import ACCOUNTS_OPENED_CHANNEL, OpenedAccount, opened_account
from corelib.db import libpq_url
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import Tenant, accounts_stub, decoded_error, new_tenant, sandbox_tenant


@pytest.fixture(scope="module")
def tenant(engine_stack: EngineHandle) -> Tenant:
    return new_tenant(engine_stack, "Accounts API tests")


def open_account(
    engine: EngineHandle, tenant: Tenant, currency: str = "USD", name: str = "Operating"
) -> pb.Account:
    response = accounts_stub(engine).CreateAccount(
        pb.CreateAccountRequest(name=name, currency_code=currency), metadata=tenant.metadata
    )
    return response.account


def fund(engine: EngineHandle, tenant: Tenant, account_id: str, amount: float) -> pb.FundAccountResponse:
    return accounts_stub(engine).FundAccount(
        pb.FundAccountRequest(account_id=account_id, amount=amount), metadata=tenant.metadata
    )


def reason_of(call: object) -> str:
    assert isinstance(call, grpc.RpcError)
    return decoded_error(call).reason


def test_the_guide_accounts_exist_in_the_sandbox(engine_stack: EngineHandle) -> None:
    stub = accounts_stub(engine_stack)
    sandbox = sandbox_tenant(engine_stack)
    payer = stub.GetBalance(pb.GetBalanceRequest(account_id="test_acc_001"), metadata=sandbox.metadata)
    empty = stub.GetBalance(pb.GetBalanceRequest(account_id="test_acc_empty"), metadata=sandbox.metadata)
    assert payer.currency_code == "USD" and payer.available_balance >= 1_000_000
    assert empty.available_balance == 0 and empty.current_balance == 0


def test_open_fund_and_read_an_account(engine_stack: EngineHandle, tenant: Tenant) -> None:
    stub = accounts_stub(engine_stack)
    metadata = struct_pb2.Struct()
    metadata.update({"costCenter": "ops", "nested": {"level": 2}})
    account = stub.CreateAccount(
        pb.CreateAccountRequest(name="Payroll", currency_code="eur", metadata=metadata),
        metadata=tenant.metadata,
    ).account
    assert account.id.startswith("acc_") and account.status == "ACTIVE" and account.currency_code == "EUR"
    assert json_format.MessageToDict(account.metadata)["nested"]["level"] == 2
    funded = fund(engine_stack, tenant, account.id, 1234.56)
    assert funded.balance.available_balance == 1234.56
    again = fund(engine_stack, tenant, account.id, 0.44)
    assert again.balance.current_balance == 1235.0
    entries = stub.ListEntries(pb.ListEntriesRequest(account_id=account.id), metadata=tenant.metadata).entries
    assert [(e.direction, e.amount, e.running_balance) for e in entries] == [
        ("CREDIT", 0.44, 1235.0),
        ("CREDIT", 1234.56, 1234.56),
    ]
    fetched = stub.GetAccount(pb.GetAccountRequest(id=account.id), metadata=tenant.metadata).account
    assert fetched.available_balance == 1235.0 and fetched.name == "Payroll"


def test_lists_paginate_and_filter(engine_stack: EngineHandle) -> None:
    owner = new_tenant(engine_stack, "Paging")
    stub = accounts_stub(engine_stack)
    created = [open_account(engine_stack, owner, "USD", f"A{i}").id for i in range(5)]
    created.append(open_account(engine_stack, owner, "GBP", "Sterling").id)
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = stub.ListAccounts(
            pb.ListAccountsRequest(page_size=2, page_token=token), metadata=owner.metadata
        )
        seen.extend(a.id for a in page.accounts)
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(created)
    gbp = stub.ListAccounts(pb.ListAccountsRequest(currency_code="GBP"), metadata=owner.metadata).accounts
    assert [a.id for a in gbp] == [created[-1]]


def test_status_lifecycle(engine_stack: EngineHandle, tenant: Tenant) -> None:
    stub = accounts_stub(engine_stack)
    account = open_account(engine_stack, tenant)
    fund(engine_stack, tenant, account.id, 10)
    assert (
        stub.FreezeAccount(pb.FreezeAccountRequest(id=account.id), metadata=tenant.metadata).account.status
        == "FROZEN"
    )
    with pytest.raises(grpc.RpcError) as frozen:
        fund(engine_stack, tenant, account.id, 1)
    assert reason_of(frozen.value) == "INVALID_ACCOUNT_STATUS"
    with pytest.raises(grpc.RpcError) as twice:
        stub.FreezeAccount(pb.FreezeAccountRequest(id=account.id), metadata=tenant.metadata)
    assert reason_of(twice.value) == "INVALID_ACCOUNT_STATUS"
    stub.UnfreezeAccount(pb.UnfreezeAccountRequest(id=account.id), metadata=tenant.metadata)
    with pytest.raises(grpc.RpcError) as not_empty:
        stub.CloseAccount(pb.CloseAccountRequest(id=account.id), metadata=tenant.metadata)
    assert reason_of(not_empty.value) == "INVALID_REQUEST"
    empty = open_account(engine_stack, tenant)
    closed = stub.CloseAccount(pb.CloseAccountRequest(id=empty.id), metadata=tenant.metadata).account
    assert closed.status == "CLOSED"
    with pytest.raises(grpc.RpcError) as reopen:
        stub.UnfreezeAccount(pb.UnfreezeAccountRequest(id=empty.id), metadata=tenant.metadata)
    assert reason_of(reopen.value) == "INVALID_ACCOUNT_STATUS"


def test_another_tenants_account_is_not_found(engine_stack: EngineHandle, tenant: Tenant) -> None:
    stub = accounts_stub(engine_stack)
    intruder = new_tenant(engine_stack, "Intruder")
    account = open_account(engine_stack, tenant)
    calls: list[Callable[[], object]] = [
        lambda: stub.GetAccount(pb.GetAccountRequest(id=account.id), metadata=intruder.metadata),
        lambda: stub.GetBalance(pb.GetBalanceRequest(account_id=account.id), metadata=intruder.metadata),
        lambda: stub.ListEntries(pb.ListEntriesRequest(account_id=account.id), metadata=intruder.metadata),
        lambda: stub.FreezeAccount(pb.FreezeAccountRequest(id=account.id), metadata=intruder.metadata),
        lambda: stub.FundAccount(
            pb.FundAccountRequest(account_id=account.id, amount=5), metadata=intruder.metadata
        ),
        lambda: stub.GetBalance(pb.GetBalanceRequest(account_id="test_acc_001"), metadata=intruder.metadata),
        lambda: stub.GetBalance(
            pb.GetBalanceRequest(account_id="sys_funding_usd"), metadata=intruder.metadata
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as denied:
            call()
        assert reason_of(denied.value) == "NOT_FOUND"
    listed = stub.ListAccounts(pb.ListAccountsRequest(), metadata=intruder.metadata).accounts
    assert account.id not in {a.id for a in listed}
    balance = stub.GetBalance(pb.GetBalanceRequest(account_id=account.id), metadata=tenant.metadata)
    assert balance.current_balance == 0


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(0, "USD"), (-5, "USD"), (10.001, "USD"), (1.5, "JPY"), (1e16, "USD"), (float("nan"), "USD")],
)
def test_bad_amounts_are_refused_and_nothing_moves(
    engine_stack: EngineHandle, tenant: Tenant, amount: float, currency: str
) -> None:
    account = open_account(engine_stack, tenant, currency)
    with pytest.raises(grpc.RpcError) as refused:
        fund(engine_stack, tenant, account.id, amount)
    assert reason_of(refused.value) == "INVALID_REQUEST"
    entries = accounts_stub(engine_stack).ListEntries(
        pb.ListEntriesRequest(account_id=account.id), metadata=tenant.metadata
    )
    assert list(entries.entries) == []


@pytest.mark.parametrize(
    ("name", "currency", "field"),
    [
        ("", "USD", "name"),
        ("x" * 201, "USD", "name"),
        ("Ok", "", "currencyCode"),
        ("Ok", "XYZ", "currencyCode"),
    ],
)
def test_bad_accounts_are_refused(
    engine_stack: EngineHandle, tenant: Tenant, name: str, currency: str, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        accounts_stub(engine_stack).CreateAccount(
            pb.CreateAccountRequest(name=name, currency_code=currency), metadata=tenant.metadata
        )
    decoded = decoded_error(refused.value)
    assert decoded.reason == "INVALID_REQUEST" and decoded.details["field"] == field


def test_scopes_are_enforced(engine_stack: EngineHandle) -> None:
    reader = new_tenant(engine_stack, "Reader", ["account:read"])
    with pytest.raises(grpc.RpcError) as denied:
        open_account(engine_stack, reader)
    assert reason_of(denied.value) == "FORBIDDEN"
    with pytest.raises(grpc.RpcError) as anonymous:
        accounts_stub(engine_stack).ListAccounts(pb.ListAccountsRequest())
    assert reason_of(anonymous.value) == "UNAUTHORIZED"


def test_opening_an_account_announces_it_to_the_payment_path(
    engine_stack: EngineHandle, tenant: Tenant
) -> None:
    """The transactions service learns an account's owner and currency when it is opened
    (corelib.account_announcements), not with a question at its first payment."""
    with psycopg.connect(libpq_url(engine_stack.database_url), autocommit=True) as listener:
        listener.execute(f"LISTEN {ACCOUNTS_OPENED_CHANNEL}")
        with pytest.raises(grpc.RpcError):
            open_account(engine_stack, tenant, currency="XXX")
        account = open_account(engine_stack, tenant, currency="EUR")
        # Every announcement of this tenant's within a second (NOTIFY travels at commit).
        heard = [opened_account(note.payload) for note in listener.notifies(timeout=1.0)]
    ours = [opened for opened in heard if opened is not None and opened.tenant_id == tenant.tenant_id]
    assert ours == [OpenedAccount(account.id, tenant.tenant_id, "EUR")]
