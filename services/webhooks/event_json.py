"""An event's data from the JSON text a producer's outbox holds (PublishEvents'
`encoded_events`): checked to be what an Event's data may be — a JSON object that
PostgreSQL's jsonb can store — so that it can be stored as it arrived.

JSON forbids a raw U+0000 in its text, and orjson refuses NaN, infinities, invalid UTF-8
and lone surrogates as jsonb does; what is left is the escape `\\u0000`, which orjson
reads and jsonb cannot store (`HoldsNul`, as for a Struct's data).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from services.webhooks.struct_data import NUL, HoldsNul

_ESCAPED_NUL: Final = b"\\u0000"


class NotEventData(ValueError):
    """The text is not a JSON object."""


def data_from_json(data_json: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(data_json)
    except orjson.JSONDecodeError as exc:
        raise NotEventData(f"data_json is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise NotEventData("data_json must be a JSON object")
    # Only text with the escape can hold the character: the values are walked then.
    if _ESCAPED_NUL in data_json and _holds_nul(data):
        raise HoldsNul(data_json[:64].decode("utf-8", "replace"))
    return data


def _holds_nul(data: dict[str, Any]) -> bool:
    # A stack, not recursion: orjson reads 1,024 levels, deeper than Python recurses by
    # default. Bounded by the values of the document, each visited once.
    pending: list[Any] = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                return True
        elif isinstance(value, dict):
            if any(NUL in key for key in value):
                return True
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
