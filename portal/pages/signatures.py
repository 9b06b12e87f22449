"""Signature checker: paste what a receiver got; see whether it verifies, and with which
secret."""

from __future__ import annotations

import time
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.rendering import render_page
from portal.signature_check import TIMESTAMP_TOLERANCE_S, check_signatures, parse_headers
from portal.web import checked_form, signed_in

BODY_CHARS_MAX: Final = 128 * 1024


async def show_checker(request: Request) -> Response:
    session = signed_in(request)
    context = {
        "form": {"headers": "", "body": "", "current": "", "previous": ""},
        "result": None,
        "tolerance_s": TIMESTAMP_TOLERANCE_S,
    }
    return render_page(request, "signatures.html", context, session=session)


async def check(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)

    def raw(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    # The body exactly as pasted: one changed byte changes the signature. Browsers send
    # textarea line breaks as CRLF; a receiver's JSON body has none of its own.
    body_text = raw("body")[:BODY_CHARS_MAX].replace("\r\n", "\n")
    submitted = {
        "headers": raw("headers"),
        "body": body_text,
        "current": raw("current"),
        "previous": raw("previous"),
    }
    result = check_signatures(
        parse_headers(submitted["headers"]),
        body_text.encode(),
        {"current": submitted["current"], "previous": submitted["previous"]},
        now_s=int(time.time()),
    )
    context = {"form": submitted, "result": result, "tolerance_s": TIMESTAMP_TOLERANCE_S}
    return render_page(request, "signatures.html", context, session=session)


routes = [
    Route("/portal/signatures", show_checker, methods=["GET"]),
    Route("/portal/signatures", check, methods=["POST"]),
]
