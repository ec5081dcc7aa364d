"""The lab's topology in the PDF: the layout the pages draw as SVG (labs.topology), drawn
with reportlab graphics, shrunk to fit the page when it is wider or taller."""

from __future__ import annotations

from typing import Final

from reportlab.graphics.shapes import Drawing, Group, PolyLine, Rect, String
from reportlab.lib import colors

from app.reports.fonts import MONO, SANS, SANS_BOLD, register_fonts
from app.reports.pdf_text import pdf_safe
from labs.topology import Box, Layout, Text
from labs.topology.svg import FILL, INK, MUTED, STROKE

_WHITE: Final = colors.white


def _rect(box: Box, height: float, fill: str | None, stroke: str | None, radius: float) -> Rect:
    """y flipped: the layout's y goes down the page, the PDF's up."""
    return Rect(
        box.x,
        height - box.y - box.height,
        box.width,
        box.height,
        rx=radius,
        ry=radius,
        fillColor=colors.HexColor(fill) if fill else _WHITE,
        strokeColor=colors.HexColor(stroke) if stroke else None,
        strokeWidth=1,
    )


def _string(t: Text, height: float) -> String:
    font = MONO if t.mono else SANS_BOLD if t.bold else SANS
    return String(
        t.x,
        height - t.y,
        pdf_safe(t.text, font),
        fontName=font,
        fontSize=t.size,
        fillColor=colors.HexColor(MUTED if t.muted else INK),
        textAnchor="start" if t.start else "middle",
    )


def topology_drawing(picture: Layout, max_width: float, max_height: float) -> Drawing:
    """The picture as a flowable, at its own size or shrunk to `max_width` × `max_height`
    points (never enlarged): links, then boxes over their ends, then interface names.
    Raises FontsMissing (app.reports.fonts) when the fonts are not installed."""
    register_fonts()
    h = picture.height
    group = Group()
    for wire in picture.wires:
        points = [v for x, y in wire.points for v in (x, h - y)]
        group.add(PolyLine(points, strokeColor=colors.HexColor(INK), strokeWidth=1.5))
    for node in picture.nodes:
        group.add(_rect(node.box, h, FILL[node.kind], STROKE[node.kind], 5))
        for line in node.lines:
            group.add(_string(line, h))
    for label in (label for wire in picture.wires for label in wire.labels):
        group.add(_rect(label.box, h, None, None, 3))
        group.add(_string(label.text, h))
    group.add(_string(picture.note, h))
    scale = min(1.0, max_width / picture.width, max_height / picture.height)
    group.transform = (scale, 0, 0, scale, 0, 0)
    # initialFontName: else the drawing starts by naming Helvetica, unused
    drawing = Drawing(picture.width * scale, picture.height * scale, initialFontName=SANS)
    drawing.add(group)
    return drawing
