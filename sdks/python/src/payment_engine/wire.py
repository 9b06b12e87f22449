"""The JSON wire format: encoding with exact decimals, decoding into Decimals, and typed
readers for the proto3 JSON mapping the engine speaks (lowerCamelCase keys, RFC 3339
timestamps, int64 as strings, empty strings for unset text)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from payment_engine.errors import InvalidResponseError
from payment_engine.money import decimal_to_json_number, to_decimal

JSON_NESTING_DEPTH_MAX: Final = 64
_TIMESTAMP: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


# --- Encoding ------------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """Compact JSON, Decimals written as numbers with exactly their digits."""
    parts: list[str] = []
    _encode(value, parts, 0)
    return "".join(parts).encode("utf-8")


def _encode(value: Any, parts: list[str], depth: int) -> None:
    if depth > JSON_NESTING_DEPTH_MAX:
        raise ValueError(f"JSON nested deeper than {JSON_NESTING_DEPTH_MAX} levels")
    if value is None or isinstance(value, bool | str | int):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        parts.append(decimal_to_json_number(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be sent as a JSON number")
        # Through Decimal so that floats anywhere (metadata prices) keep their short form.
        parts.append(decimal_to_json_number(to_decimal(value)))
    elif isinstance(value, Mapping):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            if index:
                parts.append(",")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            _encode(item, parts, depth + 1)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _encode(item, parts, depth + 1)
        parts.append("]")
    elif isinstance(value, datetime):
        parts.append(json.dumps(format_timestamp(value)))
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")


# --- Decoding ------------------------------------------------------------------------------


def loads(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """RFC 3339 (as protobuf writes it, up to nanoseconds) → aware datetime, microsecond precision."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "").ljust(6, "0")[:6])
    if offset in ("Z", "z"):
        zone = timezone.utc
    else:
        sign = 1 if offset[0] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=zone)


def path_segment(value: str, name: str) -> str:
    """An id as one URL path segment; an empty id would silently address the collection."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return quote(value, safe="")


# --- Typed readers of one JSON object ------------------------------------------------------


def _bad(key: str, expected: str, value: Any) -> InvalidResponseError:
    return InvalidResponseError(f"Response field '{key}' {expected}, got {value!r}"[:300])


def text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(key, "should be a string", value)
    return value


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    """Proto3 writes unset text as ""; the SDK says None."""
    return text(data, key) or None


def integer(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool):
        raise _bad(key, "should be an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        # int64 fields arrive as strings in proto3 JSON.
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise _bad(key, "should be an integer", value)


def boolean(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _bad(key, "should be true or false", value)
    return value


def amount(data: Mapping[str, Any], key: str) -> Decimal:
    """A money field. Missing is an error, never a silent zero."""
    if key not in data:
        raise InvalidResponseError(f"Response has no amount field '{key}'")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise _bad(key, "should be a number", value)
    try:
        return to_decimal(value, field=key)
    except ValueError as exc:
        raise _bad(key, "should be a number", value) from exc


def timestamp(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(key, "should be an RFC 3339 timestamp", value)
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise _bad(key, "should be an RFC 3339 timestamp", value) from exc


def obj(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(key, "should be an object", value)
    return value


def objects(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _bad(key, "should be an array of objects", value)
    return value


def strings(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(key, "should be an array of strings", value)
    return list(value)


def require_object(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise InvalidResponseError(f"Expected a JSON object for {what}, got {type(document).__name__}")
    return document
