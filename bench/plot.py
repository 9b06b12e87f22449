"""A results document of `python -m bench` drawn as one SVG picture.

One line per measured run: its throughput beside pgbench TPC-B at the same clients (with
the ratio), its p50 and p99 latency, and the engine CPU one operation cost. The input is
the document the run saves (bench/report.py `Row.as_json` under "results"), as
bench/plot_rows.py reads it.

`python -m bench --plot` draws it after a run; `python -m bench.plot results.json` redraws
a saved document without running anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench import svg
from bench.plot_axes import LogAxis, clipped_top, compact, linear_ticks, ms_tick, nice_ceiling
from bench.plot_rows import PlotRow, rows_of, short, title_lines

FONT_FAMILY: Final = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
INK: Final = "#222222"
MUTED: Final = "#6b7280"
GRID: Final = "#e5e7eb"
GRID_MAJOR: Final = "#c7cbd1"
BAND: Final = "#f3f5f8"
ENGINE_COLOUR: Final = "#2f6db5"
PGBENCH_COLOUR: Final = "#b8bec6"
P50_COLOUR: Final = "#2f6db5"
P99_COLOUR: Final = "#d1495b"
SPAN_COLOUR: Final = "#9aa3ad"
CPU_COLOUR: Final = "#7b5ea7"
ERROR_COLOUR: Final = "#c0392b"

# Geometry, in pixels. Two bars a row (engine, pgbench) and fonts of 10-12 px keep 40 rows
# under 1,300 px tall and still readable when the picture is shown at its own size.
MARGIN: Final = 16.0
ROW_HEIGHT: Final = 28.0
BAR_HEIGHT: Final = 9.0
BAR_GAP: Final = 2.0
LABEL_SIZE: Final = 12.0
VALUE_SIZE: Final = 10.0
TICK_SIZE: Final = 10.0
# An average sans-serif glyph is a little under 0.6 em; the estimate sizes the label column.
CHAR_WIDTH_EM: Final = 0.58
LABEL_CHARS_MAX: Final = 48
LABEL_WIDTH_MIN: Final = 160.0
CLIENTS_WIDTH: Final = 44.0
PANEL_GAP: Final = 22.0
THROUGHPUT_BARS_WIDTH: Final = 300.0
THROUGHPUT_TEXT_WIDTH: Final = 96.0
RATIO_WIDTH: Final = 88.0
LATENCY_AXIS_WIDTH: Final = 240.0
LATENCY_TEXT_WIDTH: Final = 132.0
CPU_BARS_WIDTH: Final = 120.0
CPU_TEXT_WIDTH: Final = 40.0
HEADER_HEIGHT: Final = 128.0
FOOTER_HEIGHT: Final = 52.0
RATIO_DIGITS_SMALL: Final = 0.1
# Spelled as escapes: ruff (RUF001) takes the literal signs for look-alikes of x and -.
TIMES: Final = "\u00d7"
MISSING: Final = "\u2013"


# Number formats. The picture shows what a reader compares; every row's tooltip has the
# document's full figures.


def per_second(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def milliseconds(value: float) -> str:
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def ratio_text(value: float) -> str:
    return f"{value:.3f}{TIMES}" if value < RATIO_DIGITS_SMALL else f"{value:.2f}{TIMES}"


def _estimated_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH_EM


@dataclass(frozen=True)
class Layout:
    """Left edges of the columns, from the longest label and whether CPU is shown."""

    label_x: float
    clients_right: float
    throughput_x: float
    ratio_x: float
    latency_x: float
    latency_text_x: float
    cpu_x: float | None
    width: float
    rows_top: float
    height: float

    @classmethod
    def of(cls, rows: Sequence[PlotRow], *, with_cpu: bool) -> Layout:
        longest = max((len(short(row.label, LABEL_CHARS_MAX)) for row in rows), default=0)
        label_width = max(longest * LABEL_SIZE * CHAR_WIDTH_EM, LABEL_WIDTH_MIN)
        clients_right = MARGIN + label_width + CLIENTS_WIDTH
        throughput_x = clients_right + PANEL_GAP
        ratio_x = throughput_x + THROUGHPUT_BARS_WIDTH + THROUGHPUT_TEXT_WIDTH
        latency_x = ratio_x + RATIO_WIDTH + PANEL_GAP
        latency_text_x = latency_x + LATENCY_AXIS_WIDTH + 12.0
        cpu_x = latency_x + LATENCY_AXIS_WIDTH + LATENCY_TEXT_WIDTH + PANEL_GAP if with_cpu else None
        right = (
            cpu_x + CPU_BARS_WIDTH + CPU_TEXT_WIDTH
            if cpu_x is not None
            else latency_x + LATENCY_AXIS_WIDTH + LATENCY_TEXT_WIDTH
        )
        rows_top = HEADER_HEIGHT
        height = rows_top + max(len(rows), 1) * ROW_HEIGHT + FOOTER_HEIGHT
        return cls(
            label_x=MARGIN,
            clients_right=clients_right,
            throughput_x=throughput_x,
            ratio_x=ratio_x,
            latency_x=latency_x,
            latency_text_x=latency_text_x,
            cpu_x=cpu_x,
            width=right + MARGIN,
            rows_top=rows_top,
            height=height,
        )

    @property
    def rows_bottom(self) -> float:
        return self.height - FOOTER_HEIGHT


def _legend(y: float, *, with_cpu: bool) -> list[str]:
    parts: list[str] = []
    x = MARGIN
    entries: list[tuple[str, str]] = [
        ("engine", "engine ops/s"),
        ("pgbench", "pgbench TPC-B tps (same clients, same run)"),
        ("p50", "p50 latency"),
        ("p99", "p99 latency"),
    ]
    if with_cpu:
        entries.append(("cpu", "engine CPU ms per op"))
    entries.append(("errors", "errors (count)"))
    for kind, caption in entries:
        centre = y - 4.0
        if kind == "engine":
            parts.append(svg.rect(x, centre - 5, 18, 10, ENGINE_COLOUR))
        elif kind == "pgbench":
            parts.append(svg.rect(x, centre - 5, 18, 10, PGBENCH_COLOUR))
        elif kind == "p50":
            parts.append(svg.circle(x + 9, centre, 4.5, P50_COLOUR))
        elif kind == "p99":
            parts.append(svg.diamond(x + 9, centre, 5.5, P99_COLOUR))
        elif kind == "cpu":
            parts.append(svg.rect(x, centre - 5, 18, 10, CPU_COLOUR))
        else:
            parts.append(
                svg.text(x + 9, y, "!", size=LABEL_SIZE, anchor="middle", fill=ERROR_COLOUR, weight="bold")
            )
        parts.append(svg.text(x + 24, y, caption, size=LABEL_SIZE, fill=INK))
        x += 24 + _estimated_width(caption, LABEL_SIZE) + 22
    return parts


def _vertical_grid(x: float, layout: Layout, colour: str) -> str:
    return svg.line(x, layout.rows_top, x, layout.rows_bottom, colour)


def _tick_labels(x: float, label: str, layout: Layout) -> list[str]:
    """The same label above the rows and below them: 40 rows are taller than a screen."""
    return [
        svg.text(x, layout.rows_top - 6, label, size=TICK_SIZE, anchor="middle", fill=MUTED),
        svg.text(x, layout.rows_bottom + 13, label, size=TICK_SIZE, anchor="middle", fill=MUTED),
    ]


def _linear_axis(x0: float, width: float, top: float, layout: Layout, *, narrow: bool = False) -> list[str]:
    parts = []
    for tick in linear_ticks(top, narrow=narrow):
        x = x0 + width * tick / top
        parts.append(_vertical_grid(x, layout, GRID_MAJOR if tick == 0 else GRID))
        parts.extend(_tick_labels(x, compact(tick), layout))
    return parts


def _log_axis(axis: LogAxis, layout: Layout) -> list[str]:
    parts = []
    for value, labelled in axis.ticks():
        x = layout.latency_x + LATENCY_AXIS_WIDTH * axis.fraction(value)
        parts.append(_vertical_grid(x, layout, GRID_MAJOR if labelled else GRID))
        if labelled:
            parts.extend(_tick_labels(x, ms_tick(value), layout))
    return parts


def _panel_titles(layout: Layout) -> list[str]:
    y = layout.rows_top - 24
    titles = [
        svg.text(layout.label_x, y, "run", size=LABEL_SIZE, weight="bold"),
        svg.text(layout.clients_right, y, "clients", size=LABEL_SIZE, anchor="end", weight="bold"),
        svg.text(layout.throughput_x, y, "throughput per second", size=LABEL_SIZE, weight="bold"),
        svg.text(layout.ratio_x + RATIO_WIDTH, y, "÷ pgbench", size=LABEL_SIZE, anchor="end", weight="bold"),
        svg.text(layout.latency_x, y, "latency, ms (log scale)", size=LABEL_SIZE, weight="bold"),
    ]
    if layout.cpu_x is not None:
        titles.append(svg.text(layout.cpu_x, y, "engine CPU ms/op", size=LABEL_SIZE, weight="bold"))
    return titles


def _tooltip(row: PlotRow) -> str:
    def shown(value: float | None, unit: str) -> str:
        return "none" if value is None else f"{value:,.3f}{unit}"

    clients = "" if row.clients is None else f", {row.clients} clients"
    return (
        f"{row.label}{clients}: {shown(row.ops_per_s, ' ops/s')}; pgbench {shown(row.pgbench_tps, ' tps')};"
        f" ratio {shown(row.ratio, '')}; p50 {shown(row.p50_ms, ' ms')}, p99 {shown(row.p99_ms, ' ms')};"
        f" engine CPU {shown(row.cpu_ms_per_op, ' ms/op')}; {row.errors} errors"
    )


@dataclass(frozen=True)
class Scales:
    throughput_top: float
    latency: LogAxis
    cpu_top: float


def _throughput_cells(row: PlotRow, top: float, layout: Layout, scales: Scales) -> list[str]:
    parts = []
    engine_y = top + (ROW_HEIGHT - 2 * BAR_HEIGHT - BAR_GAP) / 2
    pgbench_y = engine_y + BAR_HEIGHT + BAR_GAP
    x0 = layout.throughput_x
    for y, value, colour, css_class, unit, missing in (
        (engine_y, row.ops_per_s, ENGINE_COLOUR, "engine", "/s", "no throughput"),
        (pgbench_y, row.pgbench_tps, PGBENCH_COLOUR, "pgbench", " tps", "no pgbench figure"),
    ):
        baseline = y + BAR_HEIGHT - 1
        if value is None:
            parts.append(svg.text(x0 + 4, baseline, missing, size=VALUE_SIZE, fill=MUTED, style="italic"))
            continue
        width = THROUGHPUT_BARS_WIDTH * min(max(value, 0.0), scales.throughput_top) / scales.throughput_top
        tooltip = f"{row.label}: {value:,.2f}{unit}"
        parts.append(svg.rect(x0, y, width, BAR_HEIGHT, colour, css_class=css_class, tooltip=tooltip))
        caption = per_second(value) + unit
        parts.append(svg.text(x0 + width + 4, baseline, caption, size=VALUE_SIZE, fill=INK))
    ratio_right = layout.ratio_x + RATIO_WIDTH
    middle = top + ROW_HEIGHT / 2
    if row.ratio is None:
        parts.append(svg.text(ratio_right, middle + 4, MISSING, size=LABEL_SIZE, anchor="end", fill=MUTED))
    else:
        ratio_y = middle if row.errors else middle + 4
        parts.append(
            svg.text(
                ratio_right, ratio_y, ratio_text(row.ratio), size=LABEL_SIZE, anchor="end", weight="bold"
            )
        )
    if row.errors:
        caption = f"! {row.errors:,} error{'s' if row.errors != 1 else ''}"
        parts.append(
            svg.text(
                ratio_right,
                middle + 11,
                caption,
                size=VALUE_SIZE,
                anchor="end",
                fill=ERROR_COLOUR,
                css_class="errors",
            )
        )
    return parts


def _latency_cells(row: PlotRow, top: float, layout: Layout, axis: LogAxis) -> list[str]:
    middle = top + ROW_HEIGHT / 2
    if row.p50_ms is None and row.p99_ms is None:
        return [
            svg.text(
                layout.latency_x + 4, middle + 4, "no latency", size=VALUE_SIZE, fill=MUTED, style="italic"
            )
        ]

    def at(value: float) -> float:
        return layout.latency_x + LATENCY_AXIS_WIDTH * axis.fraction(value)

    parts = []
    if row.p50_ms is not None and row.p99_ms is not None:
        parts.append(svg.line(at(row.p50_ms), middle, at(row.p99_ms), middle, SPAN_COLOUR, width=2.0))
    captions = []
    if row.p50_ms is not None:
        tooltip = f"{row.label}: p50 {row.p50_ms:,.3f} ms"
        parts.append(svg.circle(at(row.p50_ms), middle, 4.5, P50_COLOUR, css_class="p50", tooltip=tooltip))
        captions.append(f"p50 {milliseconds(row.p50_ms)}")
    if row.p99_ms is not None:
        tooltip = f"{row.label}: p99 {row.p99_ms:,.3f} ms"
        parts.append(svg.diamond(at(row.p99_ms), middle, 5.5, P99_COLOUR, css_class="p99", tooltip=tooltip))
        captions.append(f"p99 {milliseconds(row.p99_ms)}")
    parts.append(svg.text(layout.latency_text_x, middle + 4, " · ".join(captions), size=VALUE_SIZE, fill=INK))
    return parts


def _cpu_cells(row: PlotRow, top: float, cpu_x: float, cpu_top: float) -> list[str]:
    middle = top + ROW_HEIGHT / 2
    if row.cpu_ms_per_op is None:
        return [svg.text(cpu_x + 4, middle + 4, MISSING, size=VALUE_SIZE, fill=MUTED)]
    value = max(row.cpu_ms_per_op, 0.0)
    width = CPU_BARS_WIDTH * min(value, cpu_top) / cpu_top
    tooltip = f"{row.label}: engine CPU {value:,.3f} ms/op"
    bar_y = middle - BAR_HEIGHT / 2
    parts = [svg.rect(cpu_x, bar_y, width, BAR_HEIGHT, CPU_COLOUR, css_class="cpu", tooltip=tooltip)]
    if value > cpu_top:
        # A gap near the end says the bar is longer than drawn; its value follows it.
        parts.append(svg.rect(cpu_x + width - 10, bar_y - 1, 3, BAR_HEIGHT + 2, "#ffffff"))
    caption = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    parts.append(svg.text(cpu_x + width + 4, middle + 4, caption, size=VALUE_SIZE, fill=INK))
    return parts


def _row_cells(row: PlotRow, index: int, layout: Layout, scales: Scales) -> list[str]:
    top = layout.rows_top + index * ROW_HEIGHT
    middle = top + ROW_HEIGHT / 2
    label_colour = ERROR_COLOUR if row.errors else INK
    cells = [
        svg.text(
            layout.label_x, middle + 4, short(row.label, LABEL_CHARS_MAX), size=LABEL_SIZE, fill=label_colour
        ),
        svg.text(
            layout.clients_right,
            middle + 4,
            "" if row.clients is None else f"c={row.clients}",
            size=LABEL_SIZE,
            anchor="end",
            fill=MUTED,
        ),
        *_throughput_cells(row, top, layout, scales),
        *_latency_cells(row, top, layout, scales.latency),
    ]
    if layout.cpu_x is not None:
        cells.extend(_cpu_cells(row, top, layout.cpu_x, scales.cpu_top))
    return cells


def _bands(rows: Sequence[PlotRow], layout: Layout) -> list[str]:
    """Every other scenario on a light band, so its variants read as one group."""
    parts = []
    shaded = False
    previous: str | None = None
    for index, row in enumerate(rows):
        if previous is not None and row.scenario != previous:
            shaded = not shaded
        previous = row.scenario
        if shaded:
            top = layout.rows_top + index * ROW_HEIGHT
            parts.append(svg.rect(MARGIN / 2, top, layout.width - MARGIN, ROW_HEIGHT, BAND))
    return parts


def render_svg(document: Mapping[str, Any]) -> str:
    """The picture of a results document; the same document always gives the same text."""
    rows, left_off = rows_of(document)
    cpu_values = [row.cpu_ms_per_op for row in rows if row.cpu_ms_per_op is not None]
    layout = Layout.of(rows, with_cpu=bool(cpu_values))
    throughput = [value for row in rows for value in (row.ops_per_s, row.pgbench_tps) if value is not None]
    latencies = [value for row in rows for value in (row.p50_ms, row.p99_ms) if value is not None]
    scales = Scales(
        throughput_top=nice_ceiling(max(throughput, default=0.0)),
        latency=LogAxis.covering(latencies),
        cpu_top=clipped_top(cpu_values),
    )
    title, subtitle = title_lines(document)
    parts = [
        svg.text(MARGIN, 28, title, size=17.0, weight="bold"),
        svg.text(MARGIN, 48, subtitle, size=LABEL_SIZE, fill=MUTED),
        *_legend(76, with_cpu=layout.cpu_x is not None),
        *_bands(rows, layout),
        *_panel_titles(layout),
        *_linear_axis(layout.throughput_x, THROUGHPUT_BARS_WIDTH, scales.throughput_top, layout),
        *_log_axis(scales.latency, layout),
    ]
    if layout.cpu_x is not None:
        parts.extend(_linear_axis(layout.cpu_x, CPU_BARS_WIDTH, scales.cpu_top, layout, narrow=True))
    for index, row in enumerate(rows):
        parts.append(
            svg.group(_row_cells(row, index, layout, scales), tooltip=_tooltip(row), css_class="row")
        )
    if not rows:
        parts.append(
            svg.text(MARGIN, layout.rows_top + ROW_HEIGHT / 2 + 4, "no results in this document", fill=MUTED)
        )
    notes = [
        "÷ pgbench = engine ops/s ÷ pgbench TPC-B tps at the same clients, measured on the same"
        " PostgreSQL seconds before the run. Latency beyond the axis is drawn at its end."
    ]
    if left_off:
        notes.append(f"{left_off:,} more runs in the document are not drawn.")
    for offset, note in enumerate(notes):
        parts.append(
            svg.text(MARGIN, layout.rows_bottom + 34 + 14 * offset, note, size=VALUE_SIZE, fill=MUTED)
        )
    return svg.document(layout.width, layout.height + 14 * (len(notes) - 1), title, FONT_FAMILY, parts)


def svg_path_beside(results: Path) -> Path:
    """Where the picture of a results file goes by default: beside it, .svg."""
    return results.with_suffix(".svg")


def write_svg(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(document), encoding="utf-8")


def write_after_run(path: Path, document: Mapping[str, Any]) -> str:
    """Writes the picture of a finished run; the line to print says where, or why not.
    The results are saved by then, so a picture that cannot be written costs only itself
    (`python -m bench.plot` draws it again from the JSON) and not the run's exit status."""
    try:
        write_svg(path, document)
    except OSError as error:
        return f"plot not written: {error}"
    return f"plot saved to {path}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.plot",
        description="Draws a saved results document of `python -m bench` as an SVG picture.",
    )
    parser.add_argument("results", type=Path, help="results JSON, e.g. bench/results/latest.json")
    parser.add_argument(
        "--output", type=Path, default=None, help="SVG file (default: beside the results, .svg)"
    )
    args = parser.parse_args(argv)
    source: Path = args.results
    output: Path = args.output if args.output is not None else svg_path_beside(source)
    if output.resolve() == source.resolve():
        parser.error("the picture would replace the results file; choose another --output")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: cannot read {source}: {error}", file=sys.stderr)
        return 1
    if not isinstance(document, dict):
        print(f"error: {source} is not a results document (a JSON object)", file=sys.stderr)
        return 1
    try:
        write_svg(output, document)
    except OSError as error:
        print(f"error: cannot write {output}: {error}", file=sys.stderr)
        return 1
    print(f"plot saved to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
