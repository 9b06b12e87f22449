"""Aggregating py-spy's collapsed stacks into self and total shares per function."""

from __future__ import annotations

from bench.profiling import package_of, parse_collapsed, short_frame


def test_frames_lose_line_numbers_and_install_prefixes() -> None:
    frame = "select (/work/main/.venv/lib/python3.11/site-packages/sqlalchemy/sql/base.py:123)"
    assert short_frame(frame) == "select (sqlalchemy/sql/base.py)"
    assert short_frame("<module> (<string>:8)") == "<module> (<string>)"
    assert short_frame("_run (/usr/lib/python3.11/asyncio/events.py:84)") == "_run (asyncio/events.py)"


def test_self_counts_the_innermost_frame_and_total_every_frame_once() -> None:
    text = "\n".join(
        [
            "main (app.py:1);handle (app.py:5);query (db.py:9) 30",
            "main (app.py:1);handle (app.py:6);encode (json.py:2) 10",
            # Recursion: handle appears twice but counts once in its total.
            "main (app.py:1);handle (app.py:5);handle (app.py:5) 5",
            "not a stack line",
        ]
    )
    profile = parse_collapsed(text)
    assert profile.samples == 45
    assert profile.self_samples["query (db.py)"] == 30
    assert profile.self_samples["handle (app.py)"] == 5
    assert profile.total_samples["handle (app.py)"] == 45
    assert profile.total_samples["main (app.py)"] == 45
    assert profile.package_samples == {"db": 30, "json": 10, "app": 5}


def test_packages_are_the_top_folder_or_the_service() -> None:
    assert package_of("execute (sqlalchemy/engine/base.py)") == "sqlalchemy"
    assert package_of("place (services/accounts/holds.py)") == "services/accounts"
    assert package_of("select (selectors.py)") == "selectors"
    assert package_of("_run (asyncio/events.py)") == "asyncio"
