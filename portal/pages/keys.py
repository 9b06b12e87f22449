"""API keys: least-privilege creation scope by scope, the secret shown once, rotation
with overlap, revocation with a confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import PAGE_SIZE_MAX, ApiError
from portal.rendering import render_page
from portal.web import api, checked_form, field, path_id, redirect, signed_in

KEY_NAME_CHARS_MAX = 100
EXPIRY_DAYS_MAX = 3650
OVERLAP_HOURS_DEFAULT = 24
OVERLAP_HOURS_MAX = 7 * 24


async def _keys_page(
    request: Request, *, error: str = "", status_code: int = 200, form: dict[str, Any] | None = None
) -> Response:
    session = signed_in(request)
    listing = await api(request).call(session, "GET", "/api/v1/api-keys", params={"page_size": PAGE_SIZE_MAX})
    context = {
        "keys": listing.get("apiKeys", []),
        "grantable_scopes": session.scopes,
        "error": error,
        "form": form or {"name": "", "scopes": [], "expiry_days": ""},
    }
    return render_page(request, "keys.html", context, session=session, status_code=status_code)


async def show_keys(request: Request) -> Response:
    return await _keys_page(request)


async def create_key(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    name = field(form, "name")[:KEY_NAME_CHARS_MAX]
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    expiry_days = field(form, "expiry_days")
    submitted = {"name": name, "scopes": scopes, "expiry_days": expiry_days}
    if not name:
        return await _keys_page(request, error="Give the key a name.", status_code=422, form=submitted)
    if not scopes:
        return await _keys_page(request, error="Choose at least one scope.", status_code=422, form=submitted)
    body: dict[str, Any] = {"name": name, "scopes": scopes}
    if expiry_days:
        if not expiry_days.isdigit() or not 1 <= int(expiry_days) <= EXPIRY_DAYS_MAX:
            message = f"Expiry must be a whole number of days from 1 to {EXPIRY_DAYS_MAX}."
            return await _keys_page(request, error=message, status_code=422, form=submitted)
        expires = datetime.now(UTC) + timedelta(days=int(expiry_days))
        body["expireTime"] = expires.isoformat().replace("+00:00", "Z")
    try:
        created = await api(request).call(
            session,
            "POST",
            "/api/v1/api-keys",
            body=body,
            idempotency_key=field(form, "idempotency_key") or None,
        )
    except ApiError as error:
        return await _keys_page(request, error=error.message, status_code=error.status, form=submitted)
    key = created.get("apiKey", {})
    session.put_flash(f"key:{key['id']}", {"secret": str(created.get("secret", ""))})
    return redirect(f"/portal/keys/{key['id']}")


async def show_key(request: Request) -> Response:
    session = signed_in(request)
    key_id = path_id(request, "key_id")
    key = (await api(request).call(session, "GET", f"/api/v1/api-keys/{key_id}")).get("apiKey", {})
    previous: dict[str, Any] = {}
    if key.get("rotatedFromId"):
        try:
            got = await api(request).call(session, "GET", f"/api/v1/api-keys/{key['rotatedFromId']}")
            previous = got.get("apiKey", {})
        except ApiError:
            previous = {}
    flash = session.pop_flash(f"key:{key_id}")
    context = {
        "key": key,
        "previous": previous,
        "secret": flash["secret"] if flash else "",
        "overlap_hours_default": OVERLAP_HOURS_DEFAULT,
        "overlap_hours_max": OVERLAP_HOURS_MAX,
    }
    return render_page(request, "key.html", context, session=session)


async def rotate_key(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    key_id = path_id(request, "key_id")
    hours_text = field(form, "overlap_hours") or str(OVERLAP_HOURS_DEFAULT)
    hours = int(hours_text) if hours_text.isdigit() else OVERLAP_HOURS_DEFAULT
    hours = max(1, min(hours, OVERLAP_HOURS_MAX))
    rotated = await api(request).call(
        session,
        "POST",
        f"/api/v1/api-keys/{key_id}:rotate",
        body={"overlapSeconds": hours * 3600},
        idempotency_key=field(form, "idempotency_key") or None,
    )
    new_key = rotated.get("apiKey", {})
    session.put_flash(f"key:{new_key['id']}", {"secret": str(rotated.get("secret", ""))})
    return redirect(f"/portal/keys/{new_key['id']}")


async def confirm_revoke(request: Request) -> Response:
    session = signed_in(request)
    key_id = path_id(request, "key_id")
    key = (await api(request).call(session, "GET", f"/api/v1/api-keys/{key_id}")).get("apiKey", {})
    return render_page(request, "key_revoke.html", {"key": key}, session=session)


async def revoke_key(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    key_id = path_id(request, "key_id")
    await api(request).call(session, "POST", f"/api/v1/api-keys/{key_id}:revoke", body={})
    del form
    return redirect("/portal/keys", revoked=key_id)


routes = [
    Route("/portal/keys", show_keys, methods=["GET"]),
    Route("/portal/keys", create_key, methods=["POST"]),
    Route("/portal/keys/{key_id}", show_key, methods=["GET"]),
    Route("/portal/keys/{key_id}/rotate", rotate_key, methods=["POST"]),
    Route("/portal/keys/{key_id}/revoke", confirm_revoke, methods=["GET"]),
    Route("/portal/keys/{key_id}/revoke", revoke_key, methods=["POST"]),
]
