"""Exam codes on paper: A4 sheets of slips to cut and hand out, one a candidate, in the same
order as the list on screen. Drawn with the reports' DejaVu fonts (`app.reports.fonts`): Latin,
Greek and Cyrillic names print as written; a character they lack prints as "?", never as a
black box (`pdf_safe`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Paragraph, Spacer

from app.reports.fonts import MONO, MONO_BOLD, SANS, SANS_BOLD, register_fonts
from app.reports.model import DEFAULT_TZ
from app.reports.pdf_text import pdf_safe
from app.reports.words import as_utc
from app.sittings.roster import Candidate, fold

COLUMNS: Final = 2
ROWS: Final = 4
SLIPS_PER_PAGE: Final = COLUMNS * ROWS  # 10.5 × 7 cm each: room for the code in large type
INSTRUCTIONS: Final = "Ouvrez l'adresse, saisissez votre code. Ne le communiquez à personne."

_MARGIN: Final = 1 * cm  # inside what office printers can reach
_WIDTH: Final = (A4[0] - 2 * _MARGIN) / COLUMNS
_HEIGHT: Final = (A4[1] - 2 * _MARGIN) / ROWS
_PADDING: Final = 0.45 * cm
_CUT: Final = colors.HexColor("#888888")
_MUTED: Final = colors.HexColor("#444444")
_DAYS: Final = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass(frozen=True)
class SlipSitting:
    """What every slip of a sitting repeats. `starts_at` naive is UTC, as the database hands
    it back (`app.reports.words.as_utc`); it prints in the sitting's time zone."""

    title: str  # the subject's title, in French
    starts_at: datetime
    room: str
    address: str  # where candidates type their code, e.g. https://praxis.example/exam


@dataclass(frozen=True)
class Slip:
    candidate: Candidate
    code: str  # as `app.auth.new_exam_code` makes it: ABCD-EFGH


def name_key(candidate: Candidate) -> tuple[str, str, str, str, str]:
    """Last name, then first name, compared without accents or case ("Écrivain" between "Dupont"
    and "Fabre", as a French reader expects); the number, then the exact spelling, settle
    ties so that the order never depends on the input's."""
    folded = (fold(candidate.last_name), fold(candidate.first_name), fold(candidate.number))
    return (*folded, candidate.last_name, candidate.first_name)


def ordered_slips(slips: Iterable[Slip]) -> list[Slip]:
    """The slips in print order, for the table on screen to list them the same way."""
    return sorted(slips, key=lambda slip: name_key(slip.candidate))


def french_datetime(moment: datetime, tz: str = DEFAULT_TZ) -> str:
    """ "lundi 30 novembre 2026 à 09:00" in `tz`, whatever the server's locale."""
    local = as_utc(moment).astimezone(ZoneInfo(tz))
    day = "1er" if local.day == 1 else str(local.day)
    month = _MONTHS[local.month - 1]
    return f"{_DAYS[local.weekday()]} {day} {month} {local.year} à {local:%H:%M}"


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=11.5)
    return {
        "title": ParagraphStyle(
            "title", body, fontName=SANS_BOLD, fontSize=10.5, leading=13, spaceAfter=2
        ),
        "body": body,
        "name": ParagraphStyle("name", body, fontName=SANS_BOLD, fontSize=12.5, leading=15),
        "code": ParagraphStyle(
            "code",
            body,
            fontName=MONO_BOLD,
            fontSize=26,
            leading=30,
            spaceBefore=6,
            spaceAfter=6,
        ),
        "address": ParagraphStyle("address", body, fontSize=10, leading=12.5, wordWrap="CJK"),
        "small": ParagraphStyle("small", body, fontSize=7.5, leading=9.5, textColor=_MUTED),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """Paragraphs parse markup: a "<" or "&" in a name or a title must stay text."""
    return Paragraph(escape(pdf_safe(text, style.fontName)), style)


def _labelled(label: str, value: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"{escape(label)} : <b>{escape(pdf_safe(value, style.fontName))}</b>", style)


def _slip(sitting: SlipSitting, when: str, slip: Slip, s: dict[str, ParagraphStyle]) -> Flowable:
    """One slip, shrunk to its box if a long title or address would overflow it."""
    story: list[Flowable] = [
        _p(sitting.title, s["title"]),
        _p(when, s["body"]),
        _labelled("Salle", sitting.room, s["body"]),
        Spacer(1, 8),
        _p(slip.candidate.full_name, s["name"]),
        _labelled("N° de candidat", slip.candidate.number, s["body"]),
        _p(slip.code, s["code"]),
        Paragraph(
            f'Adresse : <font face="{MONO}">{escape(pdf_safe(sitting.address, MONO))}</font>',
            s["address"],
        ),
        Spacer(1, 4),
        _p(INSTRUCTIONS, s["small"]),
    ]
    inner = (_WIDTH - 2 * _PADDING, _HEIGHT - 2 * _PADDING)
    return KeepInFrame(*inner, story, mode="shrink")


def _cut_lines(canvas: Canvas) -> None:
    """Dashed lines around and between the slips, to cut along."""
    canvas.saveState()
    canvas.setStrokeColor(_CUT)
    canvas.setLineWidth(0.5)
    canvas.setDash(4, 3)
    top, right = A4[1] - _MARGIN, A4[0] - _MARGIN
    for column in range(COLUMNS + 1):
        x = _MARGIN + column * _WIDTH
        canvas.line(x, _MARGIN, x, top)
    for row in range(ROWS + 1):
        y = _MARGIN + row * _HEIGHT
        canvas.line(_MARGIN, y, right, y)
    canvas.restoreState()


def _page(canvas: Canvas, sitting: SlipSitting, when: str, slips: list[Slip]) -> None:
    """Slips left to right, then top to bottom, as the eye reads the sheet."""
    s = _styles()
    for index, slip in enumerate(slips):
        row, column = divmod(index, COLUMNS)
        x = _MARGIN + column * _WIDTH
        y = A4[1] - _MARGIN - (row + 1) * _HEIGHT
        frame = Frame(x, y, _WIDTH, _HEIGHT, *(_PADDING,) * 4, showBoundary=0)
        frame.addFromList([_slip(sitting, when, slip, s)], canvas)
    _cut_lines(canvas)


def slips_pdf(sitting: SlipSitting, slips: list[Slip], tz: str = DEFAULT_TZ) -> bytes:
    """An A4 PDF of `SLIPS_PER_PAGE` slips a page, sorted by name (`ordered_slips`), each with
    the sitting's title, start time in `tz`, room, the candidate's name and number, the exam
    code in large monospace type, the address to open and what to do with the code.

    An empty list is refused (ValueError): a blank sheet would pass for a printed sitting.
    Raises FontsMissing (app.reports.fonts) when the fonts are not installed.
    """
    if not slips:
        raise ValueError("no slips to print")
    register_fonts()
    when = french_datetime(sitting.starts_at, tz)
    buffer = io.BytesIO()
    # initialFontName: else every page also names Helvetica, unused
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=SANS)
    canvas.setTitle(pdf_safe(f"Codes d'examen — {sitting.title} — {when}"))
    canvas.setAuthor("Praxis")
    canvas.setSubject(pdf_safe(f"Salle {sitting.room}"))
    ordered = ordered_slips(slips)
    for start in range(0, len(ordered), SLIPS_PER_PAGE):
        _page(canvas, sitting, when, ordered[start : start + SLIPS_PER_PAGE])
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
