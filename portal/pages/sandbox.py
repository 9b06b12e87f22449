"""Sandbox (sandbox mode only): fund an account, make a test payment on any rail with the
documented failure triggers, then watch it on its transaction page."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import PAGE_SIZE_MAX, ApiError
from portal.rendering import render_page
from portal.web import UnknownResource, api, checked_form, field, redirect, signed_in

# The README's table: amounts that make a sandbox payment fail on its rail.
FAILURE_TRIGGERS: Final = (
    ("ACH_CREDIT, ACH_DEBIT", "13.01", "R01: Insufficient funds"),
    ("ACH_CREDIT, ACH_DEBIT", "13.02", "R02: Account closed"),
    ("ACH_CREDIT, ACH_DEBIT", "13.03", "R03: No account/unable to locate account"),
    ("ACH_CREDIT, ACH_DEBIT", "13.04", "R04: Invalid account number structure"),
    ("ACH_DEBIT", "13.29", "R29: Corporate customer advises not authorized"),
    ("WIRE_DOMESTIC", "21.01", "Wire rejected by beneficiary bank: invalid beneficiary account"),
    ("WIRE_DOMESTIC", "21.02", "Wire rejected: OFAC screening hold"),
    ("RTP", "31.01", "RTP rejected by receiving institution: AC04 account closed"),
    ("RTP", "31.02", "RTP rejected by receiving institution: AM04 insufficient funds at receiver"),
)
AMOUNT_PATTERN: Final = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
DESCRIPTION_CHARS_MAX: Final = 200


def _amount(text: str) -> Decimal | None:
    if not AMOUNT_PATTERN.match(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value > 0 else None


async def _page(request: Request, *, error: str = "", notice: str = "", status_code: int = 200) -> Response:
    if not request.app.state.settings.is_sandbox:
        raise UnknownResource
    session = signed_in(request)
    accounts = await api(request).call(
        session, "GET", "/api/v1/accounts", params={"page_size": PAGE_SIZE_MAX}
    )
    types = await api(request).call(session, "GET", "/api/v1/payment-types")
    context: dict[str, Any] = {
        "accounts": accounts.get("accounts", []),
        "payment_types": types.get("paymentTypes", []),
        "triggers": FAILURE_TRIGGERS,
        "error": error,
        "notice": notice or request.query_params.get("funded", ""),
    }
    return render_page(request, "sandbox.html", context, session=session, status_code=status_code)


async def show_sandbox(request: Request) -> Response:
    return await _page(request)


async def fund(request: Request) -> Response:
    if not request.app.state.settings.is_sandbox:
        raise UnknownResource
    session = signed_in(request)
    form = await checked_form(request, session)
    account_id = field(form, "account_id")
    amount = _amount(field(form, "amount"))
    if amount is None or not ID_PATTERN.match(account_id):
        return await _page(request, error="Choose an account and an amount such as 500.00.", status_code=422)
    try:
        await api(request).call(
            session,
            "POST",
            f"/api/v1/sandbox/accounts/{account_id}:fund",
            body={"amount": amount},
            idempotency_key=field(form, "idempotency_key") or None,
        )
    except ApiError as failure:
        return await _page(request, error=failure.message, status_code=failure.status)
    return redirect("/portal/sandbox", funded=f"{account_id} funded with {amount}")


async def pay(request: Request) -> Response:
    if not request.app.state.settings.is_sandbox:
        raise UnknownResource
    session = signed_in(request)
    form = await checked_form(request, session)
    amount = _amount(field(form, "amount"))
    body = {
        "fromAccountId": field(form, "from_account_id"),
        "toAccountId": field(form, "to_account_id"),
        "paymentTypeId": field(form, "payment_type_id"),
        "description": field(form, "description")[:DESCRIPTION_CHARS_MAX],
    }
    if amount is None:
        return await _page(request, error="The amount must look like 100.00.", status_code=422)
    try:
        created = await api(request).call(
            session,
            "POST",
            "/api/v1/transactions",
            body={**body, "amount": amount},
            idempotency_key=field(form, "idempotency_key") or None,
        )
    except ApiError as failure:
        return await _page(request, error=f"{failure.code}: {failure.message}", status_code=failure.status)
    transaction = created.get("transaction", created)
    return redirect(f"/portal/transactions/{transaction['id']}")


routes = [
    Route("/portal/sandbox", show_sandbox, methods=["GET"]),
    Route("/portal/sandbox/fund", fund, methods=["POST"]),
    Route("/portal/sandbox/payments", pay, methods=["POST"]),
]
