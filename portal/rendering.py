"""Jinja2 templates: one per page; the live parts are blocks of the same template,
rendered alone for htmx."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from portal.security import CSRF_FIELD
from portal.sessions import PortalSession

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(["html"]),
    # API objects leave out empty fields (proto3 JSON): a missing one renders as nothing.
    undefined=jinja2.Undefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


_NUMBER_MARK: Final = "@@portal-json-number@@"
_MARKED_NUMBER: Final = re.compile('"' + re.escape(_NUMBER_MARK) + r'(-?[0-9.Ee+-]+)"')


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON as the API sent it: numbers (kept as Decimal on the way in) stay numbers with
    their exact digits, never strings or rounded floats."""

    def mark(item: Any) -> Any:
        if isinstance(item, Decimal):
            return f"{_NUMBER_MARK}{item}"
        if isinstance(item, dict):
            return {key: mark(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [mark(inner) for inner in item]
        return item

    separators = None if indent else (",", ":")
    text = json.dumps(mark(value), indent=indent, separators=separators, ensure_ascii=False)
    return _MARKED_NUMBER.sub(r"\1", text)


def format_time(value: str | None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_amount(value: object) -> str:
    if value is None or value == "":
        return "—"
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount:,.2f}"


def enum_label(value: object, prefix: str = "") -> str:
    text = str(value or "")
    return text.removeprefix(prefix).replace("_", " ").lower() or "—"


environment.filters["time"] = format_time
environment.filters["amount"] = format_amount
environment.filters["enum"] = enum_label
# A fresh Idempotency-Key per rendered form: a double submit replays, never repeats.
environment.globals["new_form_key"] = lambda: f"portal-form-{uuid.uuid4()}"


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: PortalSession | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    """The whole page, or only `block` when htmx asks for a live part."""
    settings = request.app.state.settings
    full_context = {
        "request": request,
        "session": session,
        "csrf_field": CSRF_FIELD,
        "csrf_token": session.csrf_token if session else "",
        "sandbox": settings.is_sandbox,
        "current_path": request.url.path,
        **context,
    }
    compiled = environment.get_template(template)
    if block is not None and request.headers.get("hx-request") == "true":
        fragment = compiled.blocks[block](compiled.new_context(full_context))
        return HTMLResponse("".join(fragment), status_code=status_code)
    return HTMLResponse(compiled.render(full_context), status_code=status_code)
