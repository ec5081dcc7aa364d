"""The topology picture as an inline SVG element, for the exam page, the examiner's session
page and the HTML report: its own size (readable at 100 %), every text escaped, presentation
attributes only (no style sheet, font, script or image to fetch)."""

from __future__ import annotations

from html import escape
from typing import Final

from labs.topology.shapes import Box, Layout, Text

FONT: Final = 'system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif'
MONO: Final = '"DejaVu Sans Mono", "Liberation Mono", "Courier New", monospace'
INK: Final = "#1d2430"
MUTED: Final = "#5b6575"
FILL: Final = {"vm": "#e6eefb", "container": "#e7f5ea"}
STROKE: Final = {"vm": "#1f5fae", "container": "#1e7b34"}


def _n(value: float) -> str:
    return f"{round(value, 1):g}"


def _text(t: Text) -> str:
    extra = ' font-weight="bold"' if t.bold else ""
    extra += f' font-family="{escape(MONO)}"' if t.mono else ""
    return (
        f'<text x="{_n(t.x)}" y="{_n(t.y)}" font-size="{_n(t.size)}"'
        f' text-anchor="{"start" if t.start else "middle"}" fill="{MUTED if t.muted else INK}"'
        f"{extra}>{escape(t.text)}</text>"
    )


def _rect(box: Box, fill: str, stroke: str, radius: float) -> str:
    return (
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}"'
        f' rx="{_n(radius)}" fill="{fill}" stroke="{stroke}"/>'
    )


def render_svg(picture: Layout) -> str:
    """Links first, boxes over their ends, then the interface names over the links."""
    size = f'width="{_n(picture.width)}" height="{_n(picture.height)}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" {size}'
        f' viewBox="0 0 {_n(picture.width)} {_n(picture.height)}" font-family="{escape(FONT)}">',
        f"<title>{escape(picture.title)}</title>",
        f"<desc>{escape(picture.description)}</desc>",
    ]
    for wire in picture.wires:
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in wire.points)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
    for node in picture.nodes:
        parts.append(_rect(node.box, FILL[node.kind], STROKE[node.kind], 5))
        parts += [_text(line) for line in node.lines]
    for label in (label for wire in picture.wires for label in wire.labels):
        parts += [_rect(label.box, "#ffffff", "none", 3), _text(label.text)]
    parts += [_text(picture.note), "</svg>"]
    return "\n".join(parts)
