"""The results picture: well-formed SVG with every run, pgbench beside it, p50/p99, and
nothing that a missing or odd value in a saved document can break."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench import plot
from bench.options import RESULTS_PATH, parse_options
from bench.plot_axes import LOG_DECADES_MAX, LogAxis, nice_ceiling
from bench.plot_rows import ROWS_MAX, number, title_lines

SVG_NS = "{http://www.w3.org/2000/svg}"


def _result(
    scenario: str,
    variant: str,
    clients: int,
    ops_per_s: float | None,
    p50_ms: float | None,
    p99_ms: float | None,
    pgbench_tps: float | None,
    *,
    errors: int = 0,
    cpu: float | None = 1.25,
) -> dict[str, Any]:
    """A row as bench/report.py `Row.as_json` writes it."""
    latency = (
        None
        if p50_ms is None or p99_ms is None
        else {"count": 100, "p50_ms": p50_ms, "p99_ms": p99_ms, "max_ms": p99_ms, "mean_ms": p50_ms}
    )
    ratio = None if ops_per_s is None or not pgbench_tps else round(ops_per_s / pgbench_tps, 4)
    return {
        "scenario": scenario,
        "variant": variant,
        "clients": clients,
        "ops": 0 if ops_per_s is None else int(ops_per_s * 2),
        "ops_per_s": ops_per_s,
        "latency": latency,
        "errors": errors,
        "error_reasons": {"timeout": errors} if errors else {},
        "pgbench_tps_same_clients": pgbench_tps,
        "ratio_to_pgbench": ratio,
        "cpu_percent_of_one_core": {"gateway": 50.0},
        "engine_cpu_ms_per_op": cpu,
        "details": {},
    }


def _document(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "generated_at": "2026-12-07T03:11:27.081190+00:00",
        "run_id": "02e7c4ab",
        "machine": {
            "nproc": 2,
            "cpu_count": 2,
            "cpu_model": "Intel(R) Xeon(R) Processor",
            "python": "3.11.7",
            "python_reference_ms": 84.2,
            "python_reference_ms_by_scenario": {"auth_me": 83.9, "rtp_payments": 151.3, "odd": "n/a"},
        },
        "postgres_settings": {"server_version": "18.6"},
        "options": {"quick": True, "pooler": False},
        "results": results,
    }


SAMPLE = _document(
    [
        _result("auth_me", "api key", 8, 1253.5, 6.344, 8.379, 4925.98),
        _result("balance_read", "grpc", 8, 1362.0, 5.691, 9.193, 5662.3),
        _result("hold_post_spread", "1,000 accounts", 32, 793.0, 39.404, 75.459, 5942.81),
        _result("rtp_payments", "spread create", 32, 741.5, 42.315, 64.279, 5346.33),
        _result("rtp_payments", "spread completed", 32, 750.5, 11.658, 36.925, 5346.33, cpu=None),
        _result("webhook_delivery", "outbox@500/s", 1, 499.0, 180.0, 950.0, None),
    ]
)


def _parse(text: str) -> ET.Element:
    # The text is this module's own output, not untrusted input; the strict stdlib parser
    # is the point: it rejects anything that is not well-formed XML.
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314
    assert root.tag == f"{SVG_NS}svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG_NS}text")]


def _of_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [element for element in root.iter() if element.get("class") == css_class]


def _tooltip(element: ET.Element) -> str:
    title = element.find(f"{SVG_NS}title")
    assert title is not None
    return title.text or ""


def test_every_run_is_drawn_with_its_label_and_clients() -> None:
    root = _parse(plot.render_svg(SAMPLE))
    texts = _texts(root)
    for row in SAMPLE["results"]:
        assert f"{row['scenario']} {row['variant']}" in texts
    assert texts.count("c=8") == 2
    assert texts.count("c=32") == 3
    assert "c=1" in texts
    assert len(_of_class(root, "row")) == len(SAMPLE["results"])


def test_each_run_has_its_throughput_beside_pgbench_and_the_ratio() -> None:
    root = _parse(plot.render_svg(SAMPLE))
    texts = _texts(root)
    engine_bars = _of_class(root, "engine")
    pgbench_bars = _of_class(root, "pgbench")
    assert len(engine_bars) == 6
    # The outbox row has no pgbench figure: no bar, and it says so.
    assert len(pgbench_bars) == 5
    assert "no pgbench figure" in texts
    assert "auth_me api key: 4,925.98 tps" in [_tooltip(bar) for bar in pgbench_bars]
    assert "4,926 tps" in texts
    assert "1,254/s" in texts
    assert "0.25\u00d7" in texts  # 1253.5 / 4925.98
    assert "0.13\u00d7" in texts  # 793 / 5942.81
    # A bar is as long as its value: pgbench's 5,943 tps is longer than the engine's 793/s.
    hold_engine, hold_pgbench = (
        float(bar.get("width", "0"))
        for bar in (*engine_bars, *pgbench_bars)
        if _tooltip(bar).startswith("hold_post_spread")
    )
    assert hold_pgbench > 7 * hold_engine


def test_p50_and_p99_of_every_run_are_shown() -> None:
    root = _parse(plot.render_svg(SAMPLE))
    texts = _texts(root)
    assert "p50 6.34 · p99 8.38" in texts
    assert "p50 39.4 · p99 75.5" in texts
    assert "p50 180 · p99 950" in texts
    assert len(_of_class(root, "p50")) == 6
    assert len(_of_class(root, "p99")) == 6
    # p99 sits right of p50 on the axis.
    p50 = [float(marker.get("cx", "0")) for marker in _of_class(root, "p50")]
    p99 = [float(marker.get("points", "0,0").split(",")[0]) for marker in _of_class(root, "p99")]
    assert all(right > left for left, right in zip(p50, p99, strict=True))


def test_engine_cpu_per_operation_is_drawn_where_known() -> None:
    root = _parse(plot.render_svg(SAMPLE))
    assert len(_of_class(root, "cpu")) == 5
    assert "1.25" in _texts(root)


def test_the_title_names_the_date_the_machine_and_the_run() -> None:
    root = _parse(plot.render_svg(SAMPLE))
    texts = _texts(root)
    assert "Payment Engine bench · 2026-12-07 03:11 UTC · run 02e7c4ab" in texts
    subtitle = next(text for text in texts if text.startswith("2 cores"))
    assert "Intel(R) Xeon(R) Processor" in subtitle
    assert "--quick" in subtitle
    # How fast the machine ran Python that day, to compare runs of different days.
    assert "Python reference 84.2 ms (83.9 to 151.3 during the run)" in subtitle
    legend = {"engine ops/s", "pgbench TPC-B tps (same clients, same run)", "p50 latency", "p99 latency"}
    assert legend <= set(texts)


def test_a_run_without_readings_per_scenario_shows_the_reference_alone() -> None:
    machine = {
        key: value for key, value in SAMPLE["machine"].items() if key != "python_reference_ms_by_scenario"
    }
    _, subtitle = title_lines({**SAMPLE, "machine": machine})
    assert "Python reference 84.2 ms ·" in subtitle + " ·"
    assert "during the run" not in subtitle


def test_labels_with_markup_characters_are_escaped() -> None:
    nasty = "a<b>&\"c' \x07d"
    document = _document([_result("rtp_payments", nasty, 8, 100.0, 1.0, 2.0, 1000.0)])
    document["run_id"] = "<run & id>"
    document["machine"]["cpu_model"] = 'CPU "x" <y>'
    text = plot.render_svg(document)
    assert "<b>" not in text
    assert "<run" not in text
    root = _parse(text)
    texts = _texts(root)
    # The bell is not allowed in XML 1.0, even escaped: it is replaced, the rest is kept.
    assert "rtp_payments a<b>&\"c' ?d" in texts
    assert any("run <run & id>" in text for text in texts)
    assert any('CPU "x" <y>' in text for text in texts)


def test_missing_and_odd_values_do_not_break_the_picture() -> None:
    odd = [
        _result("login", "", 8, None, None, None, 2000.0, errors=1234, cpu=None),
        _result("auth_me", "zero", 8, 0.0, None, None, None, cpu=None),
        _result("rtp_batches", "huge cpu", 4, 3.5, 1084.0, 1166.0, 5234.0, cpu=512.0),
        _result("rtp_payments", "zero latency", 32, 10.0, 0.0, 0.0, 0.0),
        {"scenario": "hand", "variant": "edited", "clients": "eight", "ops_per_s": "fast", "latency": [1, 2]},
        {"scenario": "partial", "latency": {"p50_ms": 3.0, "p99_ms": None}, "errors": True},
        {"ops_per_s": float("nan"), "pgbench_tps_same_clients": float("inf")},
        "not a row",
    ]
    root = _parse(plot.render_svg(_document(odd)))  # type: ignore[arg-type]
    texts = _texts(root)
    assert "login" in texts
    assert "no throughput" in texts
    assert "no latency" in texts
    assert "no pgbench figure" in texts
    assert "! 1,234 errors" in texts
    assert "hand edited" in texts
    assert "(unnamed run)" in texts
    assert "p50 3.00" in texts
    # The one costly row does not flatten the others: its bar is broken at the axis' end.
    cpu_bars = [float(bar.get("width", "0")) for bar in _of_class(root, "cpu")]
    assert max(cpu_bars) <= plot.CPU_BARS_WIDTH
    assert "512" in texts
    assert len(_of_class(root, "row")) == 7


@pytest.mark.parametrize(
    "document",
    [{}, {"results": None}, {"results": []}, {"machine": None, "generated_at": 5, "results": "x"}],
)
def test_a_document_without_results_still_renders(document: dict[str, Any]) -> None:
    root = _parse(plot.render_svg(document))
    texts = _texts(root)
    assert "no results in this document" in texts
    assert "cores unknown · unknown CPU" in texts


def test_rows_beyond_the_bound_are_counted_not_drawn() -> None:
    many = [_result("auth_me", f"v{index}", 8, 100.0, 1.0, 2.0, 1000.0) for index in range(ROWS_MAX + 5)]
    root = _parse(plot.render_svg(_document(many)))
    assert len(_of_class(root, "row")) == ROWS_MAX
    assert "5 more runs in the document are not drawn." in _texts(root)


@pytest.mark.parametrize(
    ("value", "top"), [(0.0, 1.0), (0.7, 1.0), (1.0, 1.0), (1.01, 2.0), (2.2, 2.5), (6381.77, 10_000.0)]
)
def test_axis_ends_are_round(value: float, top: float) -> None:
    assert nice_ceiling(value) == top


def test_the_log_axis_spans_whole_decades_and_survives_zero() -> None:
    axis = LogAxis.covering([0.0, 5.378, 75.459])
    assert (axis.low_exponent, axis.high_exponent) == (0, 2)
    assert axis.fraction(0.0) == 0.0
    assert axis.fraction(10.0) == 0.5
    assert axis.fraction(1e9) == 1.0
    assert [value for value, labelled in axis.ticks() if labelled] == [1, 2, 5, 10, 20, 50, 100]
    # A sample near zero does not push the others into a corner.
    wide = LogAxis.covering([1e-9, 1000.0])
    assert wide.high_exponent - wide.low_exponent == LOG_DECADES_MAX


def test_a_huge_integer_is_no_number() -> None:
    assert number(10**400) is None
    assert number(True) is None
    assert number(3) == 3.0


def test_the_same_document_gives_the_same_picture() -> None:
    assert plot.render_svg(SAMPLE) == plot.render_svg(json.loads(json.dumps(SAMPLE)))


def test_the_picture_grows_with_the_rows_and_has_a_size() -> None:
    small = _parse(plot.render_svg(_document(SAMPLE["results"][:5])))
    large = _parse(plot.render_svg(_document(SAMPLE["results"] * 7)))
    small_height, large_height = float(small.get("height", "0")), float(large.get("height", "0"))
    assert 0 < small_height < large_height
    assert small.get("viewBox") == f"0 0 {small.get('width')} {small.get('height')}"


def test_the_command_redraws_a_saved_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(SAMPLE), encoding="utf-8")
    assert plot.main([str(results)]) == 0
    beside = tmp_path / "latest.svg"
    assert capsys.readouterr().out.strip() == f"plot saved to {beside}"
    assert beside.read_text(encoding="utf-8") == plot.render_svg(SAMPLE)
    elsewhere = tmp_path / "pictures" / "run.svg"
    assert plot.main([str(results), "--output", str(elsewhere)]) == 0
    _parse(elsewhere.read_text(encoding="utf-8"))


def test_the_command_reports_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert plot.main([str(broken)]) == 1
    assert plot.main([str(tmp_path / "missing.json")]) == 1
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    assert plot.main([str(listed)]) == 1
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "broken.svg").exists()


def test_the_command_never_overwrites_the_results(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(SAMPLE), encoding="utf-8")
    with pytest.raises(SystemExit):
        plot.main([str(results), "--output", str(results)])
    assert json.loads(results.read_text(encoding="utf-8")) == SAMPLE


def test_after_a_run_the_picture_is_written_and_one_line_says_where(tmp_path: Path) -> None:
    target = tmp_path / "results" / "latest.svg"
    assert plot.write_after_run(target, SAMPLE) == f"plot saved to {target}"
    _parse(target.read_text(encoding="utf-8"))
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    line = plot.write_after_run(blocked / "latest.svg", SAMPLE)
    assert line.startswith("plot not written: ")
    assert "\n" not in line


def test_plot_option_with_and_without_a_path() -> None:
    assert parse_options([]).plot is None
    assert parse_options(["--plot"]).plot == RESULTS_PATH.with_suffix(".svg")
    assert RESULTS_PATH.with_suffix(".svg").name == "latest.svg"
    assert parse_options(["--plot", "out/run.svg"]).plot == Path("out/run.svg")
    # A bare --plot followed by another flag takes the default path.
    options = parse_options(["--plot", "--quick"])
    assert options.plot == RESULTS_PATH.with_suffix(".svg")
    assert options.quick
    # Beside a chosen results file.
    assert parse_options(["--output", "elsewhere/r.json", "--plot"]).plot == Path("elsewhere/r.svg")


def test_plot_option_refuses_to_overwrite_the_results() -> None:
    with pytest.raises(SystemExit):
        parse_options(["--output", "r.svg", "--plot"])
