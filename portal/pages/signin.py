"""Sign in with the tenant's username and password; sign out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import ApiError
from portal.rendering import render_page
from portal.security import SESSION_COOKIE, cookie_flags
from portal.sessions import PortalSession
from portal.web import api, checked_form, current_session, field, redirect, store

USERNAME_CHARS_MAX = 200
PASSWORD_CHARS_MAX = 1024


def _with_cookie(request: Request, response: Response, session: PortalSession) -> Response:
    secure = request.app.state.settings.secure_cookies
    response.set_cookie(SESSION_COOKIE, session.session_id, **cookie_flags(secure=secure))  # type: ignore[arg-type]
    return response


async def show_sign_in(request: Request) -> Response:
    session = current_session(request)
    if session is not None and session.signed_in:
        return redirect("/portal/")
    if session is None:
        session = store(request).create()
    expired = request.query_params.get("expired") == "1"
    response = render_page(
        request, "signin.html", {"error": "", "expired": expired, "username": ""}, session=session
    )
    return _with_cookie(request, response, session)


async def sign_in(request: Request) -> Response:
    anonymous = current_session(request)
    form = await checked_form(request, anonymous)
    assert anonymous is not None
    username = field(form, "username")[:USERNAME_CHARS_MAX]
    submitted_password = form.get("password")
    password = submitted_password[:PASSWORD_CHARS_MAX] if isinstance(submitted_password, str) else ""
    try:
        tokens = await api(request).sign_in(username, password)
    except ApiError as error:
        message = (
            "The username or password is not right."
            if error.status == 401
            else f"Signing in failed: {error.message}"
        )
        context = {"error": message, "expired": False, "username": username}
        return render_page(request, "signin.html", context, session=anonymous, status_code=error.status)
    # A new session id on sign-in, so an id planted before it is worth nothing.
    store(request).discard(anonymous.session_id)
    session = store(request).create()
    session.tokens = tokens
    me = await api(request).call(session, "GET", "/api/v1/auth/me")
    principal = me.get("principal", {})
    tenant = me.get("tenant", {})
    session.username = str(principal.get("displayName") or username)
    session.tenant_id = str(tenant.get("id", ""))
    session.tenant_name = str(tenant.get("name", ""))
    session.scopes = tuple(me.get("scopes", []))
    return _with_cookie(request, redirect("/portal/"), session)


async def sign_out(request: Request) -> Response:
    session = current_session(request)
    await checked_form(request, session)
    assert session is not None
    await api(request).sign_out(session)
    store(request).discard(session.session_id)
    response = redirect("/portal/signin")
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response


routes = [
    Route("/portal/signin", show_sign_in, methods=["GET"]),
    Route("/portal/signin", sign_in, methods=["POST"]),
    Route("/portal/signout", sign_out, methods=["POST"]),
]
