"""The live tables' rows, rendered once per change. Each examiner's browser asks for up to 200
rows every 2 s, and a row's HTML changes only when its session does, save its clock, which
ticks every second. So a row is rendered with a mark where its clock goes and kept by what it
shows; each request only writes the clocks in."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from markupsafe import Markup

from app.web.listing import clock
from app.web.templates import templates

Row = TypeVar("Row")

# Where a row's clock goes. Autoescaping turns every "<" of a value into "&lt;", so no value
# shown in a row can hold the mark.
CLOCK = Markup("<praxis-clock/>")
LIMIT = 4096  # rows kept: a few examiners' tables of 200, in both languages, and stale ones

_kept: dict[Hashable, tuple[str, str]] = {}


def clock_cell(left: float | None) -> str:
    """A running clock as countdown.js counts it down; nothing when no clock runs."""
    if left is None:
        return ""
    return f'<span class="countdown" data-left="{int(left)}">{clock(left)}</span>'


def rows_html(
    template: str,
    rows: Sequence[Row],
    shown: Callable[[Row], Hashable],
    left: Callable[[Row], float | None],
    context: dict[str, Any],
) -> Markup:
    """`rows` through the one-row `template` (which writes CLOCK where the clock goes).
    `shown(row)` must hold everything the row shows but its clock: it is the row's key, with
    the template, the language and the time zone of `context`."""
    page = templates.get_template(template)
    written: list[str] = []
    for row in rows:
        key = (template, context["lang"], context["zone"], shown(row))
        parts = _kept.get(key)
        if parts is None:
            if len(_kept) >= LIMIT:
                _kept.clear()
            html_of_row = page.render(row=row, clock_here=CLOCK, **context)
            head, mark, tail = html_of_row.partition(CLOCK)
            assert mark, f"{template} has no clock mark"
            parts = _kept[key] = (head, tail)
        written += (parts[0], clock_cell(left(row)), parts[1])
    return Markup("".join(written))
