"""Candidates from a roster file (CSV/TSV/XLSX, as training centres keep them) or typed in a
textarea: all of them when everything is good, else every problem at once, as `file:line: what`
in the examiner's words. Nothing is half-imported: one bad row refuses the whole roster.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from app.sittings.sheet import (
    MAX_ROWS,
    RosterError,
    Row,
    cell_text,
    display_name,
    problem,
    read_rows,
    text_rows,
    too_many,
)

__all__ = [
    "HEADERS",
    "Candidate",
    "RosterError",
    "fold",
    "from_fields",
    "parse_typed",
    "read_roster",
]

MAX_NAME: Final = 100
MAX_NUMBER: Final = 40
_MAX_EMAIL: Final = 254
_HEADER_SEARCH: Final = 10  # rows looked at for the header: a title line may sit above it

# Accepted column names, French and English; matched on `_header_key` (case, accents, spaces,
# "_", "-", ".", "°" ignored), so "N° candidat", "n_candidat" and "NUMERO-CANDIDAT" all match.
HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "last_name": ("nom", "nom de famille", "last name", "surname", "family name"),
    "first_name": ("prénom", "prénoms", "first name", "given name"),
    "number": (
        "numéro",
        "n° candidat",
        "n° de candidat",
        "numéro de candidat",
        "numéro candidat",
        "matricule",
        "candidate number",
        "id",
    ),
    "email": (
        "e-mail",
        "email",
        "courriel",
        "mail",
        "adresse e-mail",
        "adresse mail",
        "adresse courriel",
        "e-mail address",
    ),
}
_REQUIRED: Final = ("last_name", "first_name", "number")
_WORDS: Final = {
    "last_name": "last name",
    "first_name": "first name",
    "number": "candidate number",
    "email": "e-mail",
}
_TYPED_ORDER: Final = {"last_name": 0, "first_name": 1, "number": 2, "email": 3}
_TYPED_WIDTH: Final = (3, 4)
_SHAPE: Final = "last name; first name; candidate number; e-mail (optional)"
_EMAIL: Final = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")
_HEADER_NOISE: Final = re.compile(r"[\s_\-.°º]+")
_LIGATURES: Final = str.maketrans({"œ": "oe", "æ": "ae"})


@dataclass(frozen=True)
class Candidate:
    """One person of a sitting. Names are kept as written (NFC, spaces trimmed and collapsed):
    accents and case are the candidate's own and go as such onto slips and certificates."""

    last_name: str
    first_name: str
    number: str  # the training centre's candidate number, unique in a roster
    email: str | None = None

    @property
    def full_name(self) -> str:
        """ "Éloïse MÜLLER": French usage writes the family name in capitals, so that a name
        like "Martin Thomas" cannot be read either way round."""
        return f"{self.first_name} {self.last_name.upper()}"


def fold(text: str) -> str:
    """Accents stripped and case folded ("Éloïse" → "eloise", "Œuvre" → "oeuvre"): the key
    that compares and sorts names as a French reader expects, without a system locale."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().translate(_LIGATURES)


def _header_key(name: str) -> str:
    return _HEADER_NOISE.sub("", fold(name))


_FIELD_OF: Final = {_header_key(name): f for f, names in HEADERS.items() for name in names}


def _quoted(value: str) -> str:
    return f'"{value}"' if len(value) <= 40 else f'"{value[:37]}..."'


def _find_header(rows: Sequence[Row]) -> int:
    """The first row naming two known columns among the first few; else the first row, whose
    problems then tell what is missing."""
    for index, row in enumerate(rows[:_HEADER_SEARCH]):
        if _is_header(row):
            return index
    return 0


def _is_header(row: Row) -> bool:
    return sum(_header_key(cell) in _FIELD_OF for cell in row.cells) >= 2


def _columns(header: Row, source: str | None) -> dict[str, int]:
    """Where each field is in the row; columns with other names are ignored."""
    columns: dict[str, int] = {}
    problems: list[str] = []
    for index, name in enumerate(header.cells):
        field = _FIELD_OF.get(_header_key(name))
        if field is None:
            continue
        if field in columns:
            first = _quoted(header.cells[columns[field]])
            what = f"two columns for the {_WORDS[field]}: {first} and {_quoted(name)}"
            problems.append(problem(source, header.line, what))
        else:
            columns[field] = index
    if not any(field in columns for field in _REQUIRED):
        found = ", ".join(_quoted(cell) for cell in header.cells[:3])
        what = f'the first row must name the columns, e.g. "nom;prénom;numéro" (found {found})'
        raise RosterError([problem(source, header.line, what)])
    for field in _REQUIRED:
        if field not in columns:
            expected = ", ".join(HEADERS[field])
            what = f"no column for the {_WORDS[field]} (expected one of: {expected})"
            problems.append(problem(source, header.line, what))
    if problems:
        raise RosterError(problems)
    return columns


def _cell_problems(field: str, value: str) -> list[str]:
    word, limit = _WORDS[field], MAX_NUMBER if field == "number" else MAX_NAME
    if field == "email":
        plausible = len(value) <= _MAX_EMAIL and _EMAIL.fullmatch(value)
        return [] if not value or plausible else [f"e-mail {_quoted(value)} is not an address"]
    if not value:
        return [f"empty {word}"]
    if len(value) > limit:
        return [f"{word} longer than {limit} characters"]
    if field != "number" and not any(c.isalpha() for c in value):
        return [f"{word} {_quoted(value)} has no letter (columns swapped?)"]
    return []


def _candidate(row: Row, columns: Mapping[str, int]) -> tuple[Candidate, list[str]]:
    """The row's candidate and what is wrong with its cells (worded without the line)."""
    values = {f: row.cells[i] if i < len(row.cells) else "" for f, i in columns.items()}
    problems = [p for field, value in values.items() for p in _cell_problems(field, value)]
    candidate = Candidate(
        last_name=values["last_name"],
        first_name=values["first_name"],
        number=values["number"],
        email=values.get("email") or None,
    )
    return candidate, problems


def _candidates(
    rows: Sequence[Row], columns: Mapping[str, int], source: str | None, typed: bool = False
) -> list[Candidate]:
    """Every row's candidate, or `RosterError` with every problem in line order. A typed line
    has no header to say what its values are: one with too few or too many is not guessed at."""
    if len(rows) > MAX_ROWS:
        raise too_many(source)
    candidates: list[Candidate] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for row in rows:
        if typed and not _TYPED_WIDTH[0] <= len(row.cells) <= _TYPED_WIDTH[1]:
            what = f"{_values(len(row.cells))} where 3 or 4 are expected: {_SHAPE}"
            problems.append(problem(source, row.line, what))
            continue
        candidate, found = _candidate(row, columns)
        key = candidate.number.casefold()
        if key and key in first_line:
            number = f"duplicate candidate number {candidate.number}"
            found.append(f"{number} (first on line {first_line[key]})")
        first_line.setdefault(key, row.line)
        problems += [problem(source, row.line, what) for what in found]
        candidates.append(candidate)
    if problems:
        raise RosterError(problems)
    return candidates


def read_roster(data: bytes, filename: str) -> list[Candidate]:
    """The candidates of a roster file, in the file's order.

    CSV/TSV (UTF-8 with or without BOM; `;`, tab or `,`) or XLSX (first sheet), chosen by the
    content. The first row naming two known columns (`HEADERS`, any order, within the first
    ten) is the header; other columns are ignored. Raises `RosterError` listing every problem
    as `roster.csv:7: what` (lines are the sheet's row numbers for a workbook).
    """
    source = display_name(filename)
    rows = read_rows(data, source)
    if not rows:
        raise RosterError([problem(source, None, "the file is empty")])
    start = _find_header(rows)
    header, body = rows[start], rows[start + 1 :]
    columns = _columns(header, source)
    if not body:
        raise RosterError([problem(source, header.line, "no candidate below the header row")])
    return _candidates(body, columns, source)


def parse_typed(text: str) -> list[Candidate]:
    """The candidates typed (or pasted) in a textarea, one a line, in the typed order.

    Each line is `last name; first name; candidate number[; e-mail]`, separated by `;`, tab
    (a paste from a spreadsheet) or `,` as in a roster file. A first line naming two known
    columns (`HEADERS`) is a header instead, and then sets the order as in a file. Raises
    `RosterError` listing every problem as `line 3: what`.
    """
    rows = text_rows(text, None)
    if not rows:
        raise RosterError(["no candidate typed"])
    if _is_header(rows[0]):
        if len(rows) == 1:
            raise RosterError([problem(None, rows[0].line, "no candidate below the header row")])
        return _candidates(rows[1:], _columns(rows[0], None), None)
    return _candidates(rows, _TYPED_ORDER, None, typed=True)


def from_fields(entries: Sequence[Sequence[str | None]]) -> list[Candidate]:
    """The candidates given field by field (the API's JSON: last name, first name, number,
    e-mail or None), cleaned and checked as a typed roster is. Raises `RosterError` listing
    every problem as `candidate 3: what`."""
    rows = [Row(i, tuple(cell_text(v) for v in entry)) for i, entry in enumerate(entries, start=1)]
    try:
        return _candidates(rows, _TYPED_ORDER, None)
    except RosterError as exc:
        raise RosterError([p.replace("line ", "candidate ", 1) for p in exc.problems]) from None


def _values(count: int) -> str:
    return "1 value" if count == 1 else f"{count} values"
