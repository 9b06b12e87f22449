"""Random sequences of ledger operations against the real accounts service and a model
of what the balances must be. After every step: every balance equals the model's,
available never drops below zero, and retrying any earlier step changes nothing; at
the end the reconciliation finds zero drift."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import grpc
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb

from corelib.db import create_engine
from services.accounts.reconciliation import ReconciliationReport, reconcile
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import (
    Metadata,
    Tenant,
    accounts_stub,
    decoded_error,
    funded_payer_and_payee,
    ledger_stub,
    new_tenant,
    service_metadata,
)

AMOUNT_MINOR = st.integers(min_value=1, max_value=500_000)


@dataclass
class ModelAccount:
    current: int = 0
    held: int = 0
    active: bool = True


@dataclass
class ModelHold:
    account_id: str
    amount: int
    status: str = "HELD"
    payee: str | None = None


@dataclass
class World:
    engine: EngineHandle
    tenant: Tenant
    service: Metadata
    accounts: dict[str, ModelAccount] = field(default_factory=dict)
    holds: dict[str, ModelHold] = field(default_factory=dict)


def reconcile_now(database_url: str) -> ReconciliationReport:
    async def run() -> ReconciliationReport:
        engine = create_engine(database_url, application_name="test-reconcile", pool_size=1)
        try:
            return await reconcile(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def reason(call: grpc.RpcError) -> str:
    return decoded_error(call).reason


class LedgerMachine(RuleBasedStateMachine):
    world: World
    accounts = Bundle("accounts")
    holds = Bundle("holds")

    @rule(target=accounts)
    def open_account(self) -> str:
        account = (
            accounts_stub(self.world.engine)
            .CreateAccount(
                pb.CreateAccountRequest(name="model", currency_code="USD"),
                metadata=self.world.tenant.metadata,
            )
            .account
        )
        self.world.accounts[account.id] = ModelAccount()
        return account.id

    @rule(account_id=accounts, amount=AMOUNT_MINOR)
    def fund(self, account_id: str, amount: int) -> None:
        model = self.world.accounts[account_id]
        try:
            accounts_stub(self.world.engine).FundAccount(
                pb.FundAccountRequest(account_id=account_id, amount=amount / 100),
                metadata=self.world.tenant.metadata,
            )
        except grpc.RpcError as error:
            assert not model.active and reason(error) == "INVALID_ACCOUNT_STATUS"
            return
        assert model.active
        model.current += amount

    @rule(target=holds, account_id=accounts, amount=AMOUNT_MINOR)
    def place_hold(self, account_id: str, amount: int) -> str:
        hold_id = f"txn_model_{uuid.uuid4().hex}"
        model = self.world.accounts[account_id]
        request = pb.PlaceHoldRequest(
            hold_id=hold_id,
            tenant_id=self.world.tenant.tenant_id,
            account_id=account_id,
            amount_minor=amount,
            currency_code="USD",
        )
        try:
            ledger_stub(self.world.engine).PlaceHold(request, metadata=self.world.service)
        except grpc.RpcError as error:
            expected = "INVALID_ACCOUNT_STATUS" if not model.active else "INSUFFICIENT_FUNDS"
            assert reason(error) == expected
            assert model.current - model.held < amount or not model.active
            return hold_id
        assert model.active and model.current - model.held >= amount
        model.held += amount
        self.world.holds[hold_id] = ModelHold(account_id, amount)
        return hold_id

    @rule(target=holds, account_id=accounts, payee=accounts, amount=AMOUNT_MINOR)
    def place_and_post_at_once(self, account_id: str, payee: str, amount: int) -> str:
        """A real-time payment's hold: placed and posted to the payee in one step."""
        hold_id = f"txn_model_{uuid.uuid4().hex}"
        payer_model, payee_model = self.world.accounts[account_id], self.world.accounts[payee]
        request = pb.PlaceHoldsRequest(
            holds=[
                pb.PlaceHoldRequest(
                    hold_id=hold_id,
                    tenant_id=self.world.tenant.tenant_id,
                    account_id=account_id,
                    amount_minor=amount,
                    currency_code="USD",
                    payee_account_id=payee,
                    post_at_once=True,
                )
            ]
        )
        (result,) = ledger_stub(self.world.engine).PlaceHolds(request, metadata=self.world.service).results
        if result.HasField("error"):
            code = result.error.reason
            if payee == account_id:
                assert code == "INVALID_REQUEST"
            elif not (payer_model.active and payee_model.active):
                assert code == "INVALID_ACCOUNT_STATUS"
            else:
                assert code == "INSUFFICIENT_FUNDS" and payer_model.current - payer_model.held < amount
            return hold_id
        hold = result.placed.hold
        assert (
            hold.status == pb.HOLD_STATUS_POSTED and hold.payee_account_id == payee and hold.journal_entry_id
        )
        assert payer_model.active and payee_model.active and payer_model.current - payer_model.held >= amount
        payer_model.current -= amount
        payee_model.current += amount
        self.world.holds[hold_id] = ModelHold(account_id, amount, "POSTED", payee)
        return hold_id

    @rule(hold_id=holds, payee=accounts)
    def post_hold(self, hold_id: str, payee: str) -> None:
        hold = self.world.holds.get(hold_id)
        try:
            ledger_stub(self.world.engine).PostHold(
                pb.PostHoldRequest(hold_id=hold_id, payee_account_id=payee), metadata=self.world.service
            )
        except grpc.RpcError as error:
            code = reason(error)
            if hold is None:
                assert code == "NOT_FOUND"
            elif hold.status == "VOIDED" or payee == hold.account_id:
                assert code == "INVALID_REQUEST"
            elif hold.status == "POSTED":
                assert hold.payee != payee and code == "INVALID_REQUEST"
            else:
                payer_model, payee_model = self.world.accounts[hold.account_id], self.world.accounts[payee]
                assert code == "INVALID_ACCOUNT_STATUS" and not (payer_model.active and payee_model.active)
            return
        assert hold is not None and hold.status in ("HELD", "POSTED")
        if hold.status == "HELD":
            payer_model = self.world.accounts[hold.account_id]
            payer_model.current -= hold.amount
            payer_model.held -= hold.amount
            self.world.accounts[payee].current += hold.amount
            hold.status, hold.payee = "POSTED", payee
        else:
            assert hold.payee == payee

    @rule(hold_id=holds)
    def void_hold(self, hold_id: str) -> None:
        hold = self.world.holds.get(hold_id)
        try:
            ledger_stub(self.world.engine).VoidHold(
                pb.VoidHoldRequest(hold_id=hold_id), metadata=self.world.service
            )
        except grpc.RpcError as error:
            assert (hold is None and reason(error) == "NOT_FOUND") or (
                hold is not None and hold.status == "POSTED" and reason(error) == "INVALID_REQUEST"
            )
            return
        assert hold is not None and hold.status in ("HELD", "VOIDED")
        if hold.status == "HELD":
            self.world.accounts[hold.account_id].held -= hold.amount
            hold.status = "VOIDED"

    @rule(account_id=accounts)
    def toggle_freeze(self, account_id: str) -> None:
        model = self.world.accounts[account_id]
        stub = accounts_stub(self.world.engine)
        if model.active:
            stub.FreezeAccount(pb.FreezeAccountRequest(id=account_id), metadata=self.world.tenant.metadata)
        else:
            stub.UnfreezeAccount(
                pb.UnfreezeAccountRequest(id=account_id), metadata=self.world.tenant.metadata
            )
        model.active = not model.active

    @invariant()
    def balances_match_the_model(self) -> None:
        stub = accounts_stub(self.world.engine)
        for account_id, model in self.world.accounts.items():
            balance = stub.GetBalance(
                pb.GetBalanceRequest(account_id=account_id), metadata=self.world.tenant.metadata
            )
            assert round(balance.current_balance * 100) == model.current
            assert round(balance.held_balance * 100) == model.held
            assert balance.available_balance >= 0


@pytest.mark.timeout(600)
def test_ledger_matches_its_model(engine_stack: EngineHandle) -> None:
    world = World(engine_stack, new_tenant(engine_stack, "Ledger model"), service_metadata(engine_stack))

    class Machine(LedgerMachine):
        def __init__(self) -> None:
            super().__init__()
            self.world = World(world.engine, world.tenant, world.service)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    report = reconcile_now(engine_stack.database_url)
    assert report.clean, report


def test_internal_ledger_rpcs_refuse_tenants(engine_stack: EngineHandle) -> None:
    tenant = new_tenant(engine_stack, "Not a service")
    with pytest.raises(grpc.RpcError) as denied:
        ledger_stub(engine_stack).PlaceHold(
            pb.PlaceHoldRequest(
                hold_id="txn_x",
                tenant_id=tenant.tenant_id,
                account_id="test_acc_001",
                amount_minor=1,
                currency_code="USD",
            ),
            metadata=tenant.metadata,
        )
    assert reason(denied.value) == "FORBIDDEN"
    with pytest.raises(grpc.RpcError) as anonymous:
        ledger_stub(engine_stack).GetHold(pb.GetHoldRequest(hold_id="txn_x"))
    assert reason(anonymous.value) == "UNAUTHORIZED"


def test_a_hold_posted_at_once_moves_money_once(engine_stack: EngineHandle) -> None:
    tenant = new_tenant(engine_stack, "Posted at once")
    service = service_metadata(engine_stack)
    accounts, ledger = accounts_stub(engine_stack), ledger_stub(engine_stack)
    payer, payee = funded_payer_and_payee(engine_stack, tenant, 50.0)

    def place(hold_id: str, payee_account_id: str, amount_minor: int = 1_250) -> pb.PlaceHoldResult:
        order = pb.PlaceHoldRequest(
            hold_id=hold_id,
            tenant_id=tenant.tenant_id,
            account_id=payer,
            amount_minor=amount_minor,
            currency_code="USD",
            payee_account_id=payee_account_id,
            post_at_once=True,
        )
        return ledger.PlaceHolds(pb.PlaceHoldsRequest(holds=[order]), metadata=service).results[0]

    assert place("txn_no_payee", "").error.reason == "INVALID_REQUEST"
    assert place("txn_too_much", payee, amount_minor=5_001).error.reason == "INSUFFICIENT_FUNDS"
    hold_id = f"txn_{uuid.uuid4().hex}"
    first = place(hold_id, payee).placed
    repeated = place(hold_id, payee)
    assert not repeated.HasField("error"), repeated.error
    repeat = repeated.placed
    assert first.hold.status == repeat.hold.status == pb.HOLD_STATUS_POSTED
    assert first.hold.journal_entry_id == repeat.hold.journal_entry_id
    assert first.hold.payee_account_id == payee and first.payee.id == payee

    def balances(account_id: str) -> tuple[float, float]:
        found = accounts.GetBalance(pb.GetBalanceRequest(account_id=account_id), metadata=tenant.metadata)
        return found.current_balance, found.held_balance

    assert balances(payer) == (37.5, 0.0) and balances(payee) == (12.5, 0.0)
    with pytest.raises(grpc.RpcError) as voided:
        ledger.VoidHold(pb.VoidHoldRequest(hold_id=hold_id), metadata=service)
    assert reason(voided.value) == "INVALID_REQUEST"
    assert reconcile_now(engine_stack.database_url).clean
