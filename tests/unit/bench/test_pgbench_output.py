"""Reading pgbench's report and its per-transaction log."""

from __future__ import annotations

import pytest

from bench.pgbench import PgbenchError, parse_latencies_ms, parse_summary

REPORT = """\
pgbench (18.1)
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 5843
number of failed transactions: 0 (0.000%)
latency average = 4.098 ms
initial connection time = 12.113 ms
tps = 1952.395000 (without initial connection time)
"""


def test_summary_gives_tps_and_counts() -> None:
    assert parse_summary(REPORT) == (1952.395, 5843, 0)


def test_summary_without_tps_is_an_error() -> None:
    with pytest.raises(PgbenchError, match="unexpected pgbench output"):
        parse_summary("pgbench: error: connection refused\n")


def test_log_latency_is_the_third_field_in_microseconds() -> None:
    log = "0 0 3401 0 1732789200 123456\n1 0 12170 0 1732789200 124000\n\n"
    assert parse_latencies_ms(log) == [3.401, 12.17]
