"""Rosters: a training centre's file or a typed list becomes candidates, or is refused whole
with every problem at its line, in the examiner's words."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook

from app.errors import Invalid
from app.sittings.roster import Candidate, RosterError, parse_typed, read_roster

HEADER = "Nom;Prénom;N° candidat;E-mail"


def excel_csv(*lines: str) -> bytes:
    """As Excel's "CSV UTF-8" saves on a French system: BOM, `;`, CRLF."""
    return "\ufeff".encode() + "".join(f"{line}\r\n" for line in lines).encode("utf-8")


def problems(data: bytes, filename: str = "roster.csv") -> list[str]:
    with pytest.raises(RosterError) as caught:
        read_roster(data, filename)
    return caught.value.problems


def typed_problems(text: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        parse_typed(text)
    return caught.value.problems


def workbook(rows: dict[int, list[object]]) -> bytes:
    """An .xlsx whose first sheet holds `rows` at these row numbers (gaps stay blank)."""
    book = Workbook()
    sheet = book.active
    for number, values in rows.items():
        for column, value in enumerate(values, start=1):
            sheet.cell(row=number, column=column, value=value)
    book.create_sheet("Autre").cell(row=1, column=1, value="ignored")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- Good files ------------------------------------------------------------------------------


def test_excel_csv_keeps_accents_and_case_and_skips_blank_lines() -> None:
    data = excel_csv(
        HEADER,
        "Müller;Éloïse;2024-001;eloise.muller@example.fr",
        "",
        ";;;",
        "Nguyễn;Văn An;2024-002;",
        '"D\'Arc";Jeanne;2024-003;;;',
        "de la Fontaine;\u00a0Jean-Baptiste\u00a0 ;  2024-004 ;",
    )
    assert read_roster(data, "roster.csv") == [
        Candidate("Müller", "Éloïse", "2024-001", "eloise.muller@example.fr"),
        Candidate("Nguyễn", "Văn An", "2024-002", None),
        Candidate("D'Arc", "Jeanne", "2024-003", None),
        Candidate("de la Fontaine", "Jean-Baptiste", "2024-004", None),
    ]


def test_names_are_nfc_whatever_the_keyboard_typed() -> None:
    decomposed = unicodedata.normalize("NFD", "Éloïse")
    assert decomposed != "Éloïse"
    data = excel_csv("Nom;Prénom;Numéro", f"Müller;{decomposed};1")
    assert read_roster(data, "roster.csv")[0].first_name == "Éloïse"


def test_english_headers_in_another_order_with_commas_and_no_bom() -> None:
    data = (
        b"Email,Candidate Number,Date of birth,First Name,Last Name\n"
        b'ada@example.org,A-7,1815-12-10,Ada,"Lovelace, Countess"\n'
    )
    assert read_roster(data, "list.csv") == [
        Candidate("Lovelace, Countess", "Ada", "A-7", "ada@example.org")
    ]


@pytest.mark.parametrize(
    "header",
    [
        "NOM;PRENOM;NUMERO",
        "nom_de_famille;prénoms;numero-candidat",
        "Nom de famille;Prénom;Numéro de candidat;Adresse e-mail",
        "Surname\tGiven name\tMatricule\tCourriel",
        "Family name;First name;ID;Mail",
        "Nom;Prénom;N°candidat",
        "Nom;Prénom;n° de candidat",
        "Nom;Prénom;Numero;Adresse mail",
        "Last name,First name,Candidate number,Email address",
    ],
)
def test_header_names_are_matched_loosely(header: str) -> None:
    separator = next(s for s in "\t,;" if s in header)
    data = excel_csv(header, separator.join(["Curie", "Marie", "1867"]))
    assert read_roster(data, "roster.csv") == [Candidate("Curie", "Marie", "1867")]


def test_title_row_above_the_header_and_excel_sep_line() -> None:
    data = excel_csv(
        "sep=;", "Session du 30 novembre;;", "", HEADER, "Curie;Marie;1;", "Curie;Pierre;"
    )
    assert problems(data) == ["roster.csv:6: empty candidate number"]


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers() -> None:
    data = excel_csv(HEADER, 'Curie;"Marie\r\nSalomea";1;', "Curie;;2;")
    assert problems(data) == ["roster.csv:4: empty first name"]
    good = excel_csv(HEADER, 'Curie;"Marie\r\nSalomea";1;')
    assert read_roster(good, "roster.csv")[0].first_name == "Marie Salomea"


def test_full_name_writes_the_family_name_in_capitals() -> None:
    assert Candidate("D'Arc", "Jeanne", "1").full_name == "Jeanne D'ARC"
    assert Candidate("Müller", "Éloïse", "2").full_name == "Éloïse MÜLLER"


# --- Refused files ---------------------------------------------------------------------------


def test_windows_1252_is_refused_at_its_first_accent_not_guessed() -> None:
    data = "Nom;Prenom;Numero\r\nCurie;Marie;1\r\nCurie;Pierre;2\r\nMüller;Éloïse;3\r\n"
    assert problems(data.encode("cp1252")) == [
        'roster.csv:4: not UTF-8 text (saved as ANSI/Windows-1252?): save it as "CSV UTF-8" '
        "and import again"
    ]


def test_utf16_and_old_xls_are_refused_with_what_to_do() -> None:
    utf16 = problems("Nom\tPrénom\tNuméro\r\n".encode("utf-16"), "liste.txt")
    assert utf16 == [
        'liste.txt:1: UTF-16 text ("Unicode text"): save it as "CSV UTF-8" and import again'
    ]
    xls = problems(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "C:\\Users\\moi\\liste.xls")
    assert xls == [
        "liste.xls: an old Excel .xls workbook, or a workbook protected by a password: "
        "save it as .xlsx or as CSV UTF-8"
    ]


def test_missing_column_is_named_with_the_accepted_names() -> None:
    assert problems(excel_csv("Nom;Numéro;E-mail", "Curie;1;")) == [
        "roster.csv:1: no column for the first name "
        "(expected one of: prénom, prénoms, first name, given name)"
    ]


def test_no_header_row_says_so_instead_of_three_missing_columns() -> None:
    assert problems(excel_csv("Curie;Marie;1", "Curie;Pierre;2")) == [
        'roster.csv:1: the first row must name the columns, e.g. "nom;prénom;numéro" '
        '(found "Curie", "Marie", "1")'
    ]


def test_two_columns_for_one_field() -> None:
    assert problems(excel_csv("Nom;Last name;Prénom;Numéro", "Curie;Curie;Marie;1")) == [
        'roster.csv:1: two columns for the last name: "Nom" and "Last name"'
    ]


def test_duplicate_number_names_both_lines_ignoring_case_and_spaces() -> None:
    data = excel_csv(HEADER, "Curie;Marie;ab-01;", "Curie;Pierre;2;", "Curie;Irène; AB-01 ;")
    assert problems(data) == ["roster.csv:4: duplicate candidate number AB-01 (first on line 2)"]


def test_every_problem_at_once_in_line_order() -> None:
    data = excel_csv(
        HEADER,
        "Curie;;1;",
        ";Pierre;2;pierre@",
        "Curie;Irène;;irene@@example.fr",
        "2024-004;Langevin;Paul;",
        "Curie;Ève;" + "9" * 41 + ";",
        "C" * 101 + ";Marie;6;marie@localhost",
        "Joliot;Frédéric;7;fred@example.fr",
    )
    assert problems(data) == [
        "roster.csv:2: empty first name",
        "roster.csv:3: empty last name",
        'roster.csv:3: e-mail "pierre@" is not an address',
        "roster.csv:4: empty candidate number",
        'roster.csv:4: e-mail "irene@@example.fr" is not an address',
        'roster.csv:5: last name "2024-004" has no letter (columns swapped?)',
        "roster.csv:6: candidate number longer than 40 characters",
        "roster.csv:7: last name longer than 100 characters",
        'roster.csv:7: e-mail "marie@localhost" is not an address',
    ]


def test_a_short_row_is_empty_cells_not_a_crash() -> None:
    assert problems(excel_csv(HEADER, "Curie")) == [
        "roster.csv:2: empty first name",
        "roster.csv:2: empty candidate number",
    ]


def test_problems_are_capped_with_a_count() -> None:
    data = excel_csv(HEADER, *(f"Curie;;{n};" for n in range(60)))
    found = problems(data)
    assert len(found) == 51
    assert found[49] == "roster.csv:51: empty first name"
    assert found[50] == "... and 10 more problems"


def test_500_candidates_pass_501_are_one_problem() -> None:
    rows = [f"Curie;Marie;{n};" for n in range(500)]
    assert len(read_roster(excel_csv(HEADER, *rows), "roster.csv")) == 500
    assert problems(excel_csv(HEADER, *rows, "Curie;Ève;x;")) == [
        "roster.csv: more than 500 candidates: a sitting is one room; is it the right file?"
    ]


@pytest.mark.parametrize("count", [505, 5000])
def test_too_many_rows_below_a_title_row_are_refused_not_cut_short(count: int) -> None:
    rows = [f"Curie;Marie;{n};" for n in range(count)]
    assert problems(excel_csv("Liste;;;", HEADER, *rows)) == [
        "roster.csv: more than 500 candidates: a sitting is one room; is it the right file?"
    ]


def test_too_many_typed_lines_are_refused() -> None:
    text = "".join(f"Curie;Marie;{n}\n" for n in range(501))
    assert typed_problems(text) == [
        "more than 500 candidates: a sitting is one room; is it the right file?"
    ]


def test_file_over_one_mib_is_one_problem() -> None:
    data = excel_csv(HEADER, "Curie;Marie;1;" + " " * (1024 * 1024))
    assert problems(data) == ["roster.csv: file too large (1.0 MiB; at most 1 MiB)"]


def test_header_only_and_empty_files() -> None:
    assert problems(excel_csv(HEADER, "", ";;")) == [
        "roster.csv:1: no candidate below the header row"
    ]
    assert problems(b"") == ["roster.csv: the file is empty"]
    assert problems(b"\xef\xbb\xbf\r\n \r\n") == ["roster.csv: the file is empty"]


def test_a_quote_left_open_refuses_the_file_at_its_line() -> None:
    data = excel_csv(HEADER, "Curie;Marie;1;", '"Curie;Pierre;2;', "Curie;Irène;3;")
    assert problems(data) == [
        "roster.csv:3: unreadable CSV (unexpected end of data): "
        'check the double quotes (") from this line on'
    ]


def test_the_error_is_a_422_with_one_problem_a_line() -> None:
    with pytest.raises(RosterError) as caught:
        read_roster(excel_csv(HEADER, "Curie;;1;", ";Pierre;2;"), "roster.csv")
    assert isinstance(caught.value, Invalid)
    assert caught.value.status == 422
    assert caught.value.detail == "roster.csv:2: empty first name\nroster.csv:3: empty last name"


# --- Workbooks -------------------------------------------------------------------------------


def test_xlsx_numbers_come_back_as_written_digits() -> None:
    data = workbook(
        {
            1: ["Nom", "Prénom", "Numéro", "Courriel"],
            2: ["Müller", "Éloïse", 2024017, "eloise@example.fr"],
            3: ["Nguyễn", "Văn An", 2024018.0, None],
            5: ["D'Arc", " Jeanne ", "A-19"],
        }
    )
    assert read_roster(data, "export") == [
        Candidate("Müller", "Éloïse", "2024017", "eloise@example.fr"),
        Candidate("Nguyễn", "Văn An", "2024018", None),
        Candidate("D'Arc", "Jeanne", "A-19", None),
    ]


def test_xlsx_problems_give_the_sheet_row_numbers() -> None:
    data = workbook(
        {
            1: ["Liste des candidats"],
            3: ["Candidate number", "First name", "Last name"],
            4: [1, "Marie", "Curie"],
            7: [1.0, "Pierre", None],
        }
    )
    assert problems(data, "liste.xlsx") == [
        "liste.xlsx:7: empty last name",
        "liste.xlsx:7: duplicate candidate number 1 (first on line 4)",
    ]


def test_damaged_or_misnamed_workbooks_are_refused() -> None:
    assert problems(b"PK\x03\x04 not really a zip", "liste.xlsx") == [
        "liste.xlsx: not a readable Excel workbook (.xlsx) (BadZipFile): "
        "save it as .xlsx or as CSV UTF-8"
    ]
    assert problems(excel_csv(HEADER, "Curie;Marie;1;"), "liste.xlsx") == [
        "liste.xlsx: named like a workbook, but is not an .xlsx"
    ]


# --- Typed -----------------------------------------------------------------------------------


def test_typed_lines_in_the_default_order_or_pasted_from_a_sheet() -> None:
    assert parse_typed("Curie;Marie;1\n\n  Müller ; Éloïse ; 2 ; eloise@example.fr \n") == [
        Candidate("Curie", "Marie", "1"),
        Candidate("Müller", "Éloïse", "2", "eloise@example.fr"),
    ]
    assert parse_typed("Curie\tMarie\t1\r\nNguyễn\tVăn An\t2\r\n") == [
        Candidate("Curie", "Marie", "1"),
        Candidate("Nguyễn", "Văn An", "2"),
    ]


def test_typed_header_sets_the_order() -> None:
    assert parse_typed("Numéro;Prénom;Nom\n1;Marie;Curie\n") == [Candidate("Curie", "Marie", "1")]


def test_typed_problems_say_line_n() -> None:
    assert typed_problems(
        "Curie Marie 1\nCurie;Pierre;2;p@example.fr;x\nCurie;;3\nJoliot;Irène;2"
    ) == [
        "line 1: 1 value where 3 or 4 are expected: "
        "last name; first name; candidate number; e-mail (optional)",
        "line 2: 5 values where 3 or 4 are expected: "
        "last name; first name; candidate number; e-mail (optional)",
        "line 3: empty first name",
    ]
    assert typed_problems("Curie;;1\nCurie;Pierre") == [
        "line 1: empty first name",
        "line 2: 2 values where 3 or 4 are expected: "
        "last name; first name; candidate number; e-mail (optional)",
    ]
    assert typed_problems(" \n") == ["no candidate typed"]
    assert typed_problems("Nom;Prénom;Numéro\n") == ["line 1: no candidate below the header row"]


def rewrite_sheet(data: bytes, pattern: bytes, replacement: bytes) -> bytes:
    """The workbook with its first sheet's XML edited, as other software writes it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                edited = re.sub(pattern, replacement, content)
                assert edited != content
                content = edited
            target.writestr(info, content)
    return out.getvalue()


def test_xlsx_declaring_a_wrong_size_still_gives_every_row() -> None:
    """Some exporters write a `<dimension>` smaller than the sheet; read-only openpyxl trusts
    it unless told not to, which would import half the roster."""
    rows: dict[int, list[object]] = {1: ["Nom", "Prénom", "Numéro"]}
    rows |= {n: ["Curie", "Marie", n] for n in range(2, 6)}
    data = rewrite_sheet(
        workbook(rows), rb'<dimension ref="[^"]+" ?/>', b'<dimension ref="A1:C2"/>'
    )
    assert [c.number for c in read_roster(data, "liste.xlsx")] == ["2", "3", "4", "5"]


def test_xlsx_number_stored_as_a_float_comes_back_as_digits() -> None:
    """openpyxl reads `<v>2.024017E6</v>` (as some software writes a whole number) as 2024017.0."""
    data = workbook({1: ["Nom", "Prénom", "Numéro"], 2: ["Curie", "Marie", 2024017]})
    data = rewrite_sheet(data, rb"<v>2024017</v>", b"<v>2.024017E6</v>")
    assert read_roster(data, "liste.xlsx") == [Candidate("Curie", "Marie", "2024017")]
