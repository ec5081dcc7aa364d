"""Session reports the jury can read, sign and archive: HTML, PDF and cohort spreadsheets.

Pure functions over plain data (no database, no HTTP): the caller assembles a `SessionReport`,
these functions only render it, so a report can be re-rendered identically from an archive.
"""

from app.reports.cohort import cohort_csv, cohort_rows, cohort_xlsx
from app.reports.html import render_html
from app.reports.model import (
    DEFAULT_TZ,
    Credit,
    CriterionLine,
    EvidenceItem,
    Finding,
    NodeIntegrity,
    Override,
    SessionReport,
)
from app.reports.pdf import render_pdf

__all__ = [
    "DEFAULT_TZ",
    "Credit",
    "CriterionLine",
    "EvidenceItem",
    "Finding",
    "NodeIntegrity",
    "Override",
    "SessionReport",
    "cohort_csv",
    "cohort_rows",
    "cohort_xlsx",
    "render_html",
    "render_pdf",
]
