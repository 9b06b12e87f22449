from datetime import UTC, datetime

import orjson
import pytest

from corelib.row_sets import json_rows


def test_rows_keep_their_values_in_json_types() -> None:
    moment = datetime(2026, 12, 7, 3, 4, 5, 678_000, tzinfo=UTC)
    encoded = json_rows(
        [{"id": "h_1", "amount_minor": 2**62, "hash": b"\x00\xff", "at": moment, "data": {"a": [1, None]}}]
    )
    assert orjson.loads(encoded) == [
        {
            "id": "h_1",
            "amount_minor": 2**62,
            "hash": "00ff",
            "at": "2026-12-07T03:04:05.678000+00:00",
            "data": {"a": [1, None]},
        }
    ]


def test_an_unknown_value_type_is_refused() -> None:
    with pytest.raises(TypeError):
        json_rows([{"amount": 1.5j}])
