"""The report as a standalone HTML page (inline CSS, no external assets: exam rooms may
have no internet)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import jinja2
from markupsafe import Markup

from app.reports.model import DEFAULT_TZ, SessionReport
from app.reports.view import build_view
from labs.topology import render_svg

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"


# --- HTML ------------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    """Autoescape forced on: select_autoescape would not match the `.html.j2` name, and lab
    output is candidate-controlled text. StrictUndefined turns a template typo into an error
    instead of a silently blank field on a signed document."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: SessionReport, tz: str = DEFAULT_TZ) -> str:
    """A standalone page (inline CSS, no external asset: exam rooms have no internet). The
    topology is inline SVG, every text in it escaped by `render_svg`."""
    template = _environment().get_template("report.html.j2")
    view = build_view(report, tz)
    svg = Markup(render_svg(view.topology)) if view.topology else None
    return template.render(v=view, topology=svg)
