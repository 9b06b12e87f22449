"""What every page handler needs: the signed-in session, a checked form, the API."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse

from portal.api_client import EngineApi
from portal.security import CSRF_FIELD, SESSION_COOKIE, csrf_token_matches, is_cross_site
from portal.sessions import PortalSession, SessionStore

# Forms are small; anything larger is not one of ours.
FORM_FIELDS_MAX = 64
FORM_BODY_BYTES_MAX = 256 * 1024


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler answers with the sign-in page."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class FormRefused(Exception):
    """A post without this session's CSRF token, or sent from another site."""


def store(request: Request) -> SessionStore:
    result: SessionStore = request.app.state.sessions
    return result


def api(request: Request) -> EngineApi:
    result: EngineApi = request.app.state.api
    return result


def current_session(request: Request) -> PortalSession | None:
    return store(request).get(request.cookies.get(SESSION_COOKIE))


def signed_in(request: Request) -> PortalSession:
    session = current_session(request)
    if session is None or not session.signed_in:
        raise SignInRequired
    return session


async def checked_form(request: Request, session: PortalSession | None) -> FormData:
    """The posted form, once it is known to come from this session's own page."""
    if is_cross_site(request.headers):
        raise FormRefused
    length = int(request.headers.get("content-length") or 0)
    if length > FORM_BODY_BYTES_MAX:
        raise FormRefused
    form = await request.form(max_fields=FORM_FIELDS_MAX, max_files=0)
    submitted = form.get(CSRF_FIELD)
    if session is None or not csrf_token_matches(
        session.csrf_token, submitted if isinstance(submitted, str) else None
    ):
        raise FormRefused
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def redirect(path: str, **params: Any) -> RedirectResponse:
    """303 to a portal page (after a post, so that a reload never posts again)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


RESOURCE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


class UnknownResource(Exception):
    """A path naming no resource the API could have (the page answers 404)."""


def path_id(request: Request, name: str) -> str:
    """A resource id from the path, safe to put into an API path."""
    value = str(request.path_params[name])
    if not RESOURCE_ID_PATTERN.match(value):
        raise UnknownResource
    return value
