"""Cohort exports: one row per candidate, one column per criterion (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.reports.model import DEFAULT_TZ, SessionReport
from app.reports.words import as_utc

# --- Cohort exports --------------------------------------------------------------------------

_FIXED_HEAD: Final = ["candidate", "session_id", "scenario", "graded_at"]
_FIXED_TAIL: Final = ["points", "max_points", "percent"]
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _criterion_ids(reports: list[SessionReport]) -> list[str]:
    """The first report's order, then ids only later scenarios have: a cohort normally shares
    one scenario, read in the same order as in each report."""
    ids: dict[str, None] = {}
    for report in reports:
        for line in report.criteria:
            ids.setdefault(line.id, None)
    return list(ids)


def _iso(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else as_utc(moment).astimezone(zone).isoformat(timespec="seconds")


def _cohort_row(report: SessionReport, ids: list[str], zone: ZoneInfo) -> list[str | float]:
    """A criterion the candidate's scenario lacks is "" (not assessed), never 0 (failed)."""
    scores = {line.id: line.score for line in report.criteria}
    row: list[str | float] = [
        report.candidate,
        report.session_id,
        report.scenario_id,
        _iso(report.graded_at, zone),
    ]
    row.extend(scores.get(criterion, "") for criterion in ids)
    row.extend([report.points, report.max_points, report.percent])
    return row


def cohort_rows(
    reports: list[SessionReport], tz: str = DEFAULT_TZ
) -> tuple[list[str], list[list[str | float]]]:
    """Header and one row per report, in the given order; scores are the ones that count (0..1),
    graded_at is ISO 8601 with its offset so spreadsheets and scripts agree on it."""
    ids, zone = _criterion_ids(reports), ZoneInfo(tz)
    header = [*_FIXED_HEAD, *ids, *_FIXED_TAIL]
    return header, [_cohort_row(report, ids, zone) for report in reports]


def _csv_cell(value: str | float) -> str | float:
    """A leading "'" keeps a name like "=HYPERLINK(...)" from running as a spreadsheet formula
    (CSV injection) when the file is opened in Excel or LibreOffice."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return f"'{value}"
    return value


def cohort_csv(reports: list[SessionReport], tz: str = DEFAULT_TZ) -> str:
    """RFC 4180 CSV (`,`, double quotes where needed, CRLF); encode it as UTF-8 to save it."""
    header, rows = cohort_rows(reports, tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(cell) for cell in header])
    writer.writerows([_csv_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _column_widths(header: list[str], rows: list[list[str | float]]) -> list[float]:
    """Widest cell of each column, within bounds: readable on opening, without giant columns."""
    widths = [float(len(name)) for name in header]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], float(len(str(cell))))
    return [min(max(width + 2, 8.0), 50.0) for width in widths]


def _number_format(column: int, width: int) -> str:
    """Scores with 2 decimals, percent with 1, like the reports; `column` counts from 0."""
    if column == width - 1:
        return "0.0"
    if column >= width - len(_FIXED_TAIL):
        return "0.###"
    return "0.00" if column >= len(_FIXED_HEAD) else "General"


def cohort_xlsx(reports: list[SessionReport], tz: str = DEFAULT_TZ) -> bytes:
    """The cohort as a workbook: bold frozen header, filters, sized columns. Text cells are
    forced to the string type so a candidate name starting with "=" is never a formula."""
    header, rows = cohort_rows(reports, tz)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Cohorte"
    table: list[list[str | float]] = [list(header), *rows]
    for row_index, values in enumerate(table, start=1):
        for col_index, value in enumerate(values, start=1):
            if value == "":
                continue  # not assessed: an empty cell, which formulas skip
            cell = sheet.cell(row=row_index, column=col_index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            else:
                cell.number_format = _number_format(col_index - 1, len(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, width in enumerate(_column_widths(header, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
