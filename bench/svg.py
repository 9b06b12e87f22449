"""SVG elements as text: just what bench/plot.py draws, with every label escaped.

Presentation attributes only (no <style>, no scripts, no external fonts) so that browsers
and simple viewers (rsvg, ImageMagick, image previews) render the same picture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape

# XML 1.0 forbids these characters even when escaped; a label carrying one (a reason
# copied from an exception, say) would make the whole file unreadable.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ENTITIES: Final = {'"': "&quot;"}


def clean(text: str) -> str:
    # Lone surrogates (possible in decoded JSON) cannot be written as UTF-8.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _NOT_XML.sub("?", text)


def esc(text: str) -> str:
    """Escaped for element content and for double-quoted attributes alike."""
    return escape(clean(text), _ENTITIES)


def num(value: float) -> str:
    """A coordinate: one decimal, always the same text for the same value."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _attributes(pairs: Sequence[tuple[str, str | float | None]]) -> str:
    parts = []
    for name, value in pairs:
        if value is None:
            continue
        shown = num(value) if isinstance(value, float) else esc(str(value))
        parts.append(f' {name}="{shown}"')
    return "".join(parts)


def text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = 12.0,
    anchor: str = "start",
    fill: str = "#222222",
    weight: str | None = None,
    style: str | None = None,
    css_class: str | None = None,
) -> str:
    attributes = _attributes(
        [
            ("class", css_class),
            ("x", x),
            ("y", y),
            ("font-size", size),
            ("text-anchor", None if anchor == "start" else anchor),
            ("fill", fill),
            ("font-weight", weight),
            ("font-style", style),
        ]
    )
    return f"<text{attributes}>{esc(content)}</text>"


def rect(
    x: float,
    y: float,
    width: float,
    height: float,
    fill: str,
    *,
    css_class: str | None = None,
    tooltip: str | None = None,
) -> str:
    attributes = _attributes(
        [
            ("class", css_class),
            ("x", x),
            ("y", y),
            ("width", max(width, 0.0)),
            ("height", height),
            ("fill", fill),
        ]
    )
    if tooltip is None:
        return f"<rect{attributes}/>"
    return f"<rect{attributes}><title>{esc(tooltip)}</title></rect>"


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, *, width: float = 1.0) -> str:
    attributes = _attributes([("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2), ("stroke", stroke)])
    return f'<line{attributes} stroke-width="{num(width)}"/>'


def circle(
    cx: float,
    cy: float,
    radius: float,
    fill: str,
    *,
    css_class: str | None = None,
    tooltip: str | None = None,
) -> str:
    attributes = _attributes([("class", css_class), ("cx", cx), ("cy", cy), ("r", radius), ("fill", fill)])
    if tooltip is None:
        return f"<circle{attributes}/>"
    return f"<circle{attributes}><title>{esc(tooltip)}</title></circle>"


def diamond(
    cx: float,
    cy: float,
    radius: float,
    fill: str,
    *,
    css_class: str | None = None,
    tooltip: str | None = None,
) -> str:
    corners = ((cx, cy - radius), (cx + radius, cy), (cx, cy + radius), (cx - radius, cy))
    points = " ".join(f"{num(x)},{num(y)}" for x, y in corners)
    attributes = _attributes([("class", css_class), ("points", points), ("fill", fill)])
    if tooltip is None:
        return f"<polygon{attributes}/>"
    return f"<polygon{attributes}><title>{esc(tooltip)}</title></polygon>"


def group(children: Sequence[str], *, tooltip: str | None = None, css_class: str | None = None) -> str:
    attributes = _attributes([("class", css_class)])
    title = "" if tooltip is None else f"<title>{esc(tooltip)}</title>"
    return f"<g{attributes}>{title}" + "".join(children) + "</g>"


def document(width: float, height: float, title: str, font_family: str, children: Sequence[str]) -> str:
    header = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}"'
        f' viewBox="0 0 {num(width)} {num(height)}" font-family="{esc(font_family)}" role="img">\n'
        f"<title>{esc(title)}</title>\n"
        f'<rect x="0" y="0" width="{num(width)}" height="{num(height)}" fill="#ffffff"/>\n'
    )
    return header + "\n".join(children) + "\n</svg>\n"
