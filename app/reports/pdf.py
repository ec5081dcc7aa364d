"""The report as a PDF (reportlab), optionally encrypted with a password (pypdf, AES-256)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any, Final
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.reports.diagram import topology_drawing
from app.reports.fonts import MONO, SANS, SANS_BOLD, register_fonts
from app.reports.model import DEFAULT_TZ, SessionReport
from app.reports.pdf_text import pdf_safe
from app.reports.view import (
    EvidenceView,
    IntegrityView,
    OverrideView,
    RowView,
    View,
    build_view,
)

PDF_OUTPUT_LIMIT: Final = 1500  # characters of each evidence output printed in the PDF


# --- PDF -------------------------------------------------------------------------------------

_PAGE_MARGIN: Final = 1.8 * cm
_FRAME_WIDTH: Final = A4[0] - 2 * _PAGE_MARGIN
_FRAME_HEIGHT: Final = A4[1] - 2 * _PAGE_MARGIN - 2 * cm  # room for a heading above a drawing
_CODE_LINE: Final = 110  # DejaVu Sans Mono 7 pt: ~4.2 pt a character, fits the frame with padding
_GRID: Final = ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#bbbbbb"))
# A table sets its cells' font even when they are all paragraphs: without this, Helvetica.
_CELL_FONT: Final = ("FONTNAME", (0, 0), (-1, -1), SANS)
_HEAD_BG: Final = ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))
_STATUS_COLORS: Final = {
    "passed": "#1b6e20",
    "partial": "#a15c00",
    "failed": "#b00020",
    "blocked": "#555555",
    "error": "#6a1b9a",
    "unknown": "#111111",
}
_TAMPERED: Final = ("#b00020", "#fdecee")  # (border, background) of the tampering warning
_INCOMPLETE: Final = ("#6a1b9a", "#f3e5f5")
_INTEGRITY_COLORS: Final = {"ok": "#1b6e20", "unchecked": "#a15c00"}


def _markup(text: str, font: str = SANS) -> str:
    """Paragraph parses its text as XML: unescaped, a "<" from a candidate's output would break
    the build or inject markup."""
    return escape(pdf_safe(text, font)).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=SANS, fontSize=9, leading=11.5)
    return {
        "title": ParagraphStyle(
            "title", parent=base["Title"], fontName=SANS_BOLD, fontSize=17, spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2", parent=base["Heading2"], fontName=SANS_BOLD, fontSize=12.5, spaceBefore=12
        ),
        # Heading3 is bold oblique; fonts-dejavu-core has no oblique face
        "h3": ParagraphStyle(
            "h3", parent=base["Heading3"], fontName=SANS_BOLD, fontSize=10.5, spaceBefore=8
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "muted": ParagraphStyle("muted", parent=body, textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
        "alert": ParagraphStyle("alert", parent=body, fontSize=10.5, leading=13),
        "path": ParagraphStyle("path", parent=body, fontSize=8, leading=10, wordWrap="CJK"),
        "num": ParagraphStyle("num", parent=body, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
        "total": ParagraphStyle("total", parent=body, fontSize=12, leading=15, spaceBefore=8),
        "code": ParagraphStyle(
            "code",
            parent=base["Code"],
            fontName=MONO,
            fontSize=7,
            leading=8.5,
            backColor=colors.HexColor("#f4f4f4"),
            borderPadding=3,
            leftIndent=3,
            rightIndent=3,
            spaceBefore=4,
            spaceAfter=6,
        ),
    }


def _p(text: str, style: ParagraphStyle, bold: bool = False) -> Paragraph:
    body = _markup(text)
    return Paragraph(f"<b>{body}</b>" if bold else body, style)


def _labelled(label: str, value: str, colon: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"<b>{_markup(label + colon)}</b> {_markup(value)}", style)


def _alert(lines: list[Any], border: str, background: str) -> Table:
    """A framed, tinted block; one row per line, so that a long list may split across pages."""
    table = Table([[line] for line in lines], colWidths=[_FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                _CELL_FONT,
                ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor(border)),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(background)),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _pdf_header(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """The incomplete-grade notice comes right under the title: the first thing the jury reads."""
    rows = [[_p(f.label, s["cell"], bold=True), _p(f.value, s["cell"])] for f in view.header]
    table = Table(rows, colWidths=[4 * cm, _FRAME_WIDTH - 4 * cm])
    table.setStyle(TableStyle([_CELL_FONT, _GRID, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    times = f"{view.t['times']} {view.tz}"
    notice: list[Any] = []
    if view.incomplete:
        notice = [_alert([_p(view.incomplete, s["alert"], bold=True)], *_INCOMPLETE), Spacer(1, 8)]
    title = _p(view.t["title"], s["title"])
    return [title, *notice, table, Spacer(1, 3), _p(times, s["muted"])]


def _pdf_timeline(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    t = view.t
    rows = [[_p(t[h], s["cell"], bold=True) for h in ("step", "when", "detail")]]
    rows += [[_p(cell, s["cell"]) for cell in (x.label, x.when, x.detail)] for x in view.timeline]
    table = Table(rows, colWidths=[3.6 * cm, 4.6 * cm, _FRAME_WIDTH - 8.2 * cm], repeatRows=1)
    table.setStyle(TableStyle([_CELL_FONT, _GRID, _HEAD_BG, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [_p(t["timeline"], s["h2"]), table]


def _pdf_tampered(
    node: IntegrityView, t: Mapping[str, str], s: Mapping[str, ParagraphStyle]
) -> Table:
    lines: list[Any] = [
        _p(node.headline, s["alert"], bold=True),
        _p(t["tampered_files"], s["body"]),
    ]
    lines += [
        Paragraph(
            f'<font face="{MONO}">{_markup(f.path, MONO)}</font> — {_markup(f.problem)}',
            s["path"],
        )
        for f in node.findings
    ]
    if node.more:
        lines.append(_p(node.more, s["body"]))
    lines.append(_p(node.note, s["body"]))
    return _alert(lines, *_TAMPERED)


def _pdf_node_integrity(
    node: IntegrityView, t: Mapping[str, str], s: Mapping[str, ParagraphStyle]
) -> Any:
    if node.state == "tampered":
        return _pdf_tampered(node, t, s)
    color = _INTEGRITY_COLORS.get(node.state, "#111111")
    label = _markup(" ".join([t["node"], node.node]) + t["colon"])
    text = f'<b>{label}</b> <font color="{color}">{_markup(node.headline)}</font>'
    if node.note:
        text += f"<br/>{_markup(node.note)}"
    return Paragraph(text, s["body"])


def _pdf_integrity(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """Nothing for a grade from before the integrity scan: unknown is not "all clear"."""
    if not view.integrity:
        return []
    story: list[Any] = [_p(view.t["integrity"], s["h2"])]
    for node in view.integrity:
        story += [_pdf_node_integrity(node, view.t, s), Spacer(1, 4)]
    return story


def _override_cell(
    o: OverrideView, t: Mapping[str, str], s: Mapping[str, ParagraphStyle]
) -> Paragraph:
    colon = t["colon"]
    text = (
        f"<b>{_markup(t['override'] + colon)}</b> {_markup(o.change)}<br/>"
        f"<b>{_markup(t['justification'] + colon)}</b> {_markup(o.justification)}<br/>"
        f"<i>{_markup(o.signed)}</i>"
    )
    return Paragraph(text, s["cell"])


def _status_cell(label: str, note: str, style: ParagraphStyle) -> Paragraph:
    """ "Non évalué" in bold, with "erreur du correcteur" under it: not the candidate's failure."""
    text = f"<b>{_markup(label)}</b>"
    return Paragraph(f"{text}<br/>{_markup(note)}" if note else text, style)


def _criterion_cells(row: RowView, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    status = ParagraphStyle(
        "status", parent=s["cell"], textColor=colors.HexColor(_STATUS_COLORS[row.status_class])
    )
    return [
        Paragraph(f"<b>{_markup(row.title)}</b><br/>{_markup(row.id)}", s["cell"]),
        _p(row.weight, s["num"]),
        _p(row.points, s["num"]),
        _status_cell(row.status_label, row.status_note, status),
    ]


def _pdf_criteria(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """A criterion's override sits on its own spanning row right under it, highlighted. The
    reference column is left out when no criterion has one."""
    t, ref = view.t, view.has_referential
    heads = ["ref"] * ref + ["criterion", "weight", "score", "status"]
    rows: list[list[Any]] = [[_p(t[h], s["cell"], bold=True) for h in heads]]
    style: list[tuple[Any, ...]] = [
        _CELL_FONT,
        _GRID,
        _HEAD_BG,
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for row in view.rows:
        refs = [_p(row.referential or t["none"], s["cell"])] * ref
        rows.append([*refs, *_criterion_cells(row, s)])
        if row.override is not None:
            index = len(rows)
            rows.append([""] * ref + [_override_cell(row.override, t, s), "", "", ""])
            style.append(("SPAN", (int(ref), index), (-1, index)))
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#fff8e1")))
    widths = [_FRAME_WIDTH - 5.8 * cm, 1.5 * cm, 1.7 * cm, 2.6 * cm]
    if ref:
        widths = [2.4 * cm, widths[0] - 2.4 * cm, *widths[1:]]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(style))
    return [_p(t["criteria"], s["h2"]), table]


def _pdf_total(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    total = Paragraph(
        f"<b>{_markup(view.t['total'] + view.t['colon'])} {_markup(view.total)}</b>", s["total"]
    )
    if view.original_total is None:
        return [total]
    return [total, _p(view.original_total, s["muted"])]


def _truncate(text: str, t: Mapping[str, str]) -> str:
    """A full `journalctl` would bury the rest; the HTML report keeps every character."""
    if len(text) <= PDF_OUTPUT_LIMIT:
        return text
    marker = t["truncated"].format(shown=PDF_OUTPUT_LIMIT, total=len(text))
    return f"{text[:PDF_OUTPUT_LIMIT]}\n{marker}"


def _code(text: str, s: Mapping[str, ParagraphStyle]) -> Preformatted:
    """Preformatted takes plain text (no markup to escape) and hard-wraps long lines, which
    would otherwise run off the page."""
    return Preformatted(pdf_safe(text, MONO), s["code"], maxLineLength=_CODE_LINE, newLineChars="")


def _pdf_evidence_item(
    item: EvidenceView, t: Mapping[str, str], s: Mapping[str, ParagraphStyle]
) -> list[Any]:
    """Plain flowables for the caller to keep together: a KeepTogether inside another one
    claims a page of its own."""
    c = t["colon"]
    meta = Paragraph(
        " · ".join(
            [
                f"<b>{_markup(t['node'] + c)}</b> {_markup(item.node)}",
                f"<b>{_markup(t['via'] + c)}</b> {_markup(item.via)}",
                f"<b>{_markup(t['exit_status'] + c)}</b> {_markup(item.status)}",
                f"<b>{_markup(t['duration'] + c)}</b> {_markup(item.duration)}",
            ]
        ),
        s["small"],
    )
    return [meta, _code(item.command, s), _code(_truncate(item.output, t), s)]


def _pdf_evidence(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """Headings never end a page: the section's with its first criterion, and each criterion's
    with its finding and first piece of evidence."""
    t = view.t
    story: list[Any] = []
    section: list[Any] = [_p(t["evidence"], s["h2"])]
    for row in view.rows:
        head: list[Any] = [*section, _p(f"{row.id} — {row.title}", s["h3"])]
        section = []
        if row.referential_text:
            ref = row.referential or t["referential"]
            head.append(_p(f"{ref}{t['colon']} {row.referential_text}", s["muted"]))
        head.append(_labelled(t["message"], row.message, t["colon"], s["body"]))
        items = [_pdf_evidence_item(item, t, s) for item in row.evidence]
        items = items or [[_p(t["no_evidence"], s["muted"])]]
        story += [KeepTogether([*head, *items[0]]), *(KeepTogether(i) for i in items[1:])]
    return section + story


def _pdf_signature(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """Two blank rows for the jury to fill in by hand, kept on one page with the heading."""
    t = view.t
    head = [_p(t[h], s["cell"], bold=True) for h in ("jury_member", "date", "signature")]
    widths = [_FRAME_WIDTH - 9.5 * cm, 3.5 * cm, 6 * cm]
    table = Table([head, ["", "", ""], ["", "", ""]], colWidths=widths, rowHeights=[None, 55, 55])
    table.setStyle(TableStyle([_CELL_FONT, _GRID, _HEAD_BG]))
    block = [_p(t["signatures"], s["h2"]), table, Spacer(1, 14), _p(t["done_at"], s["body"])]
    return [KeepTogether(block)]


def _pdf_incidents(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """Right under the header: a node that died is the platform's failure, read first."""
    if not view.incidents:
        return []
    lines = [_p(view.incidents_heading, s["alert"], bold=True)]
    lines += [_p(text, s["alert"]) for text in view.incidents]
    return [Spacer(1, 6), _alert(lines, *_INCOMPLETE), Spacer(1, 6)]


def _pdf_topology(view: View, s: Mapping[str, ParagraphStyle]) -> list[Any]:
    """The lab's picture with its heading, on one page; nothing for a lab without links."""
    if view.topology is None:
        return []
    drawing = topology_drawing(view.topology, _FRAME_WIDTH, _FRAME_HEIGHT)
    return [KeepTogether([_p(view.topology.title, s["h2"]), drawing])]


def _story(view: View) -> list[Any]:
    s = _styles()
    return [
        *_pdf_header(view, s),
        *_pdf_incidents(view, s),
        *_pdf_timeline(view, s),
        *_pdf_integrity(view, s),
        *_pdf_topology(view, s),
        *_pdf_criteria(view, s),
        *_pdf_total(view, s),
        *_pdf_evidence(view, s),
        *_pdf_signature(view, s),
    ]


def _footer(view: View, pages: int | None) -> Callable[[Any, Any], None]:
    """Every page names the candidate and session, and says "page n / N": a signed document
    whose pages come apart must still show whose they are and that none is missing."""
    left = pdf_safe(f"Praxis — {view.candidate} — {view.t['session']} {view.session_id}")

    def draw(canvas: Any, doc: Any) -> None:
        number = canvas.getPageNumber()
        right = view.t["page"].format(page=number, pages=pages or number)
        canvas.saveState()
        canvas.setFont(SANS, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(_PAGE_MARGIN, 1.0 * cm, left)
        canvas.drawRightString(A4[0] - _PAGE_MARGIN, 1.0 * cm, right)
        canvas.restoreState()

    return draw


def _build_pdf(view: View, pages: int | None) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_PAGE_MARGIN,
        rightMargin=_PAGE_MARGIN,
        topMargin=_PAGE_MARGIN,
        bottomMargin=_PAGE_MARGIN,
        title=pdf_safe(f"{view.t['title']} — {view.candidate}"),
        author="Praxis",
        subject=pdf_safe(f"{view.t['session']} {view.session_id}"),
        lang=view.lang,
        initialFontName=SANS,  # else every page also names Helvetica, unused
    )
    footer = _footer(view, pages)
    doc.build(_story(view), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue(), int(doc.page)


def _encrypt(data: bytes, password: str) -> bytes:
    """AES-256 (PDF 2.0, R6): the older RC4 schemes are broken. The owner password is the same:
    whoever may read the report may also print it."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf(report: SessionReport, password: str | None = None, tz: str = DEFAULT_TZ) -> bytes:
    """The HTML report's content as an A4 PDF, encrypted when a password is given.

    Built twice: the first pass counts the pages for the "page n / N" footer. An empty password
    is refused: it would produce a file anyone can open while the caller believes it protected.
    Raises FontsMissing (app.reports.fonts) when the fonts are not installed.
    """
    if password is not None and not password:
        raise ValueError("empty PDF password")
    register_fonts()
    view = build_view(report, tz)
    _, pages = _build_pdf(view, None)
    data, _ = _build_pdf(view, pages)
    return data if password is None else _encrypt(data, password)
