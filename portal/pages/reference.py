"""API reference: the engine's OpenAPI contract (served by the API itself) as a page."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.rendering import render_page
from portal.web import api, signed_in

OPENAPI_PATH: Final = "/api/v1/openapi.json"
METHODS: Final = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = str(schema.get("$ref", ""))
    return ref.rsplit("/", 1)[-1] if ref else str(schema.get("type", ""))


def _properties(definitions: dict[str, Any], name: str) -> list[dict[str, str]]:
    schema = definitions.get(name, {})
    rows = []
    for prop, spec in schema.get("properties", {}).items():
        kind = _schema_name(spec) or str(spec.get("type", ""))
        if spec.get("type") == "array":
            kind = f"array of {_schema_name(spec.get('items')) or 'values'}"
        rows.append(
            {"name": prop, "type": kind, "description": str(spec.get("description", spec.get("title", "")))}
        )
    return rows


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    definitions = document.get("definitions", {})
    result = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body = next((p for p in op.get("parameters", []) if p.get("in") == "body"), None)
            body_name = _schema_name(body.get("schema")) if body else ""
            ok: dict[str, Any] = next(
                (r for code, r in op.get("responses", {}).items() if code.startswith("2")), {}
            )
            response_name = _schema_name(ok.get("schema"))
            result.append(
                {
                    "id": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "scopes": [s for req in op.get("security", []) for v in req.values() for s in v],
                    "parameters": [p for p in op.get("parameters", []) if p.get("in") != "body"],
                    "body": body_name,
                    "body_fields": _properties(definitions, body_name) if body_name else [],
                    "response": response_name,
                    "response_fields": _properties(definitions, response_name) if response_name else [],
                }
            )
    return result


async def show_reference(request: Request) -> Response:
    session = signed_in(request)
    cached: dict[str, Any] | None = getattr(request.app.state, "openapi", None)
    if cached is None:
        cached = await api(request).fetch_public(OPENAPI_PATH)
        request.app.state.openapi = cached
    context = {
        "info": cached.get("info", {}),
        "operations": operations(cached),
        "base_url": request.app.state.settings.public_api_url,
    }
    return render_page(request, "reference.html", context, session=session)


routes = [Route("/portal/reference", show_reference, methods=["GET"])]
