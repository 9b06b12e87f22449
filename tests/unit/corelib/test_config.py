"""The database settings a pooled deployment needs, read from the environment."""

from __future__ import annotations

import pytest

from corelib.config import load_settings
from corelib.db import connect_args


def test_the_direct_url_defaults_to_the_database_url() -> None:
    settings = load_settings({"PE_DATABASE_URL": "postgresql://app@pooler:6432/pe"})
    assert settings.direct_database_url == "postgresql://app@pooler:6432/pe"
    settings = load_settings(
        {
            "PE_DATABASE_URL": "postgresql://app@pooler:6432/pe",
            "PE_DATABASE_DIRECT_URL": "postgresql://app@db/pe",
        }
    )
    assert settings.direct_database_url == "postgresql://app@db/pe"


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("TRUE", True), ("on", True)])
def test_prepared_statements_switch(raw: str, expected: bool) -> None:
    assert load_settings({"PE_DATABASE_PREPARED_STATEMENTS": raw}).database_prepared_statements is expected


def test_a_switch_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="PE_DATABASE_PREPARED_STATEMENTS must be true or false"):
        load_settings({"PE_DATABASE_PREPARED_STATEMENTS": "sometimes"})


def test_without_prepared_statements_psycopg_never_prepares() -> None:
    assert connect_args("accounts", prepared_statements=False)["prepare_threshold"] is None
    assert "prepare_threshold" not in connect_args("accounts")
