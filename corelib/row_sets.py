"""Many rows as one statement parameter.

The set-based statements of the payment path (insert these holds, move these payments,
record these events) take their rows as one JSON array, which PostgreSQL turns back
into rows with `json_to_recordset`:

    INSERT INTO accounts.holds (id, amount_minor)
    SELECT r.id, r.amount_minor
    FROM json_to_recordset(CAST(:rows AS json)) AS r(id text, amount_minor bigint)

One parameter instead of one array per column: the rows are encoded by orjson in one C
call, the statement text stays the same for every batch size (so the driver converts
and prepares it once), and no value is escaped element by element as text arrays are.
Values map to JSON as they are: str, int, bool, None, dicts and lists (for json/jsonb
columns), timezone-aware datetimes as RFC 3339 text (for timestamptz columns), and bytes
as hex text (the statement reads them with `decode(r.column, 'hex')`); a value already
encoded as JSON goes in as an `orjson.Fragment`, embedded as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson


def _encode(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not a row value")


def json_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as the JSON text a `json_to_recordset` parameter takes."""
    return orjson.dumps(list(rows), default=_encode).decode()
