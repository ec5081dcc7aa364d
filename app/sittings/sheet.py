"""A roster file's bytes as numbered rows of text cells: CSV/TSV text or an XLSX workbook.

Reading stops at the first thing that makes the file unreadable as a whole (not UTF-8, broken
quotes, not a workbook, too big) and raises `RosterError` with one problem; problems in the
cells themselves are the roster's business (`app.sittings.roster`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Final

from openpyxl import load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from app.errors import Invalid

MAX_BYTES: Final = 1024 * 1024  # a roster of 30 people is a few kB
MAX_ROWS: Final = 500  # candidate rows; a sitting is 8 to 30 people
MAX_PROBLEMS: Final = 50  # reported at once; beyond, a count
_READ_ROWS: Final = MAX_ROWS + 20  # room for a header and title rows above it
_MAX_UNPACKED: Final = 20 * 1024 * 1024  # a workbook's XML, unzipped: bounds a zip bomb
_MAX_SHEET_LINES: Final = 20_000  # sheet rows walked, blank ones included
_MAX_COLUMNS: Final = 64
_ZIP: Final = b"PK\x03\x04"
_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an .xlsx saved with a password
_SEPARATORS: Final = (";", "\t", ",")  # on a tie, French Excel's ";" wins
_NEWLINE: Final = re.compile(rb"\r\n|\r|\n")
_SPACES: Final = re.compile(r"\s+")  # str patterns: NBSP and the other Unicode spaces too
_SAVE_AS: Final = 'save it as "CSV UTF-8" and import again'
_SAVE_BOOK: Final = "save it as .xlsx or as CSV UTF-8"


class RosterError(Invalid):
    """A roster that cannot be imported. `problems` lists what is wrong, each as
    `file:line: what` (the first `MAX_PROBLEMS`, then how many more): the examiner fixes them
    all in one go. A 422 with the problems as `detail`, one a line, when it reaches the API."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        self.problems = shown
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class Row:
    """A non-blank row: its line in the file (the sheet's row number for a workbook) and its
    cells, cleaned (`cell_text`), trailing empty ones dropped."""

    line: int
    cells: tuple[str, ...]


def display_name(filename: str) -> str:
    """The name to quote in problems: the upload's base name (some browsers send a Windows
    path), or "roster" when there is none."""
    return PurePosixPath(filename.replace("\\", "/")).name or "roster"


def problem(source: str | None, line: int | None, what: str) -> str:
    """`roster.csv:7: what`; `line 7: what` for typed text; without a line for the whole file."""
    if source is None:
        return what if line is None else f"line {line}: {what}"
    return f"{source}: {what}" if line is None else f"{source}:{line}: {what}"


def cell_text(value: object) -> str:
    """A cell as the examiner sees it: NFC, invisible format characters dropped, spaces (NBSP
    included) collapsed and trimmed; a whole number stored as a float (2024017.0) as digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime) and value.time() == time():
        value = value.date()
    text = str(value.isoformat() if isinstance(value, date | time) else value)
    text = "".join(
        c
        for c in unicodedata.normalize("NFC", text)
        if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    return _SPACES.sub(" ", text).strip()


def _row(line: int, values: Iterable[object]) -> Row | None:
    cells = [cell_text(value) for value in values]
    while cells and not cells[-1]:
        cells.pop()
    return Row(line, tuple(cells)) if cells else None


def too_many(source: str | None) -> RosterError:
    """One problem, not hundreds: a file that long is the wrong file, not a roster to fix."""
    what = f"more than {MAX_ROWS} candidates: a sitting is one room; is it the right file?"
    return RosterError([problem(source, None, what)])


def _add(rows: list[Row], row: Row | None, source: str | None) -> None:
    """Reading stops, refused, past the limit: the rows kept are never a cut-short roster."""
    if row is not None:
        rows.append(row)
    if len(rows) > _READ_ROWS:
        raise too_many(source)


def read_rows(data: bytes, source: str) -> list[Row]:
    """The non-blank rows of a file; the content decides the format: a zip is an XLSX
    workbook, anything else text. Raises `RosterError` for a file unreadable as a whole."""
    if len(data) > MAX_BYTES:
        size = f"{len(data) / MAX_BYTES:.1f} MiB"
        raise RosterError([problem(source, None, f"file too large ({size}; at most 1 MiB)")])
    if data.startswith(_ZIP):
        return _workbook_rows(data, source)
    if data.startswith(_OLE):
        what = "an old Excel .xls workbook, or a workbook protected by a password"
        raise RosterError([problem(source, None, f"{what}: {_SAVE_BOOK}")])
    if source.lower().endswith((".xlsx", ".xlsm")):
        raise RosterError([problem(source, None, "named like a workbook, but is not an .xlsx")])
    return text_rows(_decode(data, source), source)


def _decode(data: bytes, source: str) -> str:
    """UTF-8, with or without BOM, or refused: a guessed Windows-1252 could print "Ã‰loÃ¯se"
    on a certificate, where the examiner saving again as UTF-8 fixes it for good."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RosterError([problem(source, 1, f'UTF-16 text ("Unicode text"): {_SAVE_AS}')])
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(_NEWLINE.split(data[: exc.start]))
        what = f"not UTF-8 text (saved as ANSI/Windows-1252?): {_SAVE_AS}"
        raise RosterError([problem(source, line, what)]) from exc


def _separator(text: str) -> tuple[str, str]:
    """The separator and the text without Excel's `sep=;` line (left blank, so that lines keep
    their numbers). Else the most frequent of `;`, tab and `,` on the first non-blank line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    declared = re.fullmatch(r"sep=(.)", first.strip(), re.IGNORECASE)
    if declared is None:
        return max(_SEPARATORS, key=first.count), text
    start = text.index(first)
    return declared.group(1), text[:start] + text[start + len(first) :]


def text_rows(text: str, source: str | None) -> list[Row]:
    """The non-blank rows of CSV/TSV text (RFC 4180 quotes, any line ending), each with the
    line it starts on. A broken quote refuses the whole text."""
    if len(text) > MAX_BYTES:
        raise RosterError([problem(source, None, "text too long (at most 1 MiB)")])
    separator, text = _separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows: list[Row] = []
    start = 1
    try:
        for values in reader:
            _add(rows, _row(start, values), source)
            start = reader.line_num + 1
    except csv.Error as exc:
        what = f'unreadable CSV ({exc}): check the double quotes (") from this line on'
        raise RosterError([problem(source, start, what)]) from exc
    return rows


def _workbook_rows(data: bytes, source: str) -> list[Row]:
    """The first sheet's rows, by their row numbers; cached values, not formulas."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > _MAX_UNPACKED:
            raise RosterError([problem(source, None, "workbook too large once unpacked")])
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return _sheet_rows(workbook.worksheets[0], source)
        finally:
            workbook.close()
    except RosterError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds on a damaged or odd file
        what = f"not a readable Excel workbook (.xlsx) ({type(exc).__name__}): {_SAVE_BOOK}"
        raise RosterError([problem(source, None, what)]) from exc


def _sheet_rows(sheet: ReadOnlyWorksheet, source: str) -> list[Row]:
    # Writers may declare a wrong size, which read-only mode would trust and cut rows short.
    sheet.reset_dimensions()
    rows: list[Row] = []
    values = sheet.iter_rows(max_col=_MAX_COLUMNS, values_only=True)
    for line, cells in enumerate(values, start=1):
        if line > _MAX_SHEET_LINES:
            raise RosterError([problem(source, None, "the first sheet has too many rows")])
        _add(rows, _row(line, cells), source)
    return rows
