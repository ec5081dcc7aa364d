"""Exam codes on paper: every candidate's slip, read back from the PDF, in the on-screen order."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from app.sittings.roster import Candidate
from app.sittings.slips import (
    INSTRUCTIONS,
    Slip,
    SlipSitting,
    french_datetime,
    ordered_slips,
    slips_pdf,
)

SITTING = SlipSitting(
    title="Administrer un serveur Linux — épreuve pratique",
    starts_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),  # 09:00 in Paris (CET)
    room="Salle B204",
    address="https://praxis.example/exam",
)
# Given out of order; the slips print in the order of the last names without accents.
PEOPLE = [
    ("Müller", "Éloïse", "2024-001", "KMPQ-RSTU"),
    ("Dupont", "Jean", "2024-002", "ABCD-EFGH"),
    ("D'Arc", "Jeanne", "2024-003", "HJKM-NPQR"),
    ("Fabre", "Ève", "2024-004", "VWXY-Z234"),
    ("Écrivain", "Zoé", "2024-005", "5678-9ABC"),
    ("Curie", "Pierre", "2024-006", "DEFG-HJKM"),
    ("Curie", "Marie", "2024-007", "NPQR-STUV"),
    ("Zola", "Émile", "2024-008", "WXYZ-2345"),
    ("Lefèvre", "Ana", "2024-009", "6789-ABCD"),
]
PRINT_ORDER = [
    "Marie CURIE",
    "Pierre CURIE",
    "Jeanne D'ARC",
    "Jean DUPONT",
    "Zoé ÉCRIVAIN",
    "Ève FABRE",
    "Ana LEFÈVRE",
    "Éloïse MÜLLER",
    "Émile ZOLA",
]


def slips(people: list[tuple[str, str, str, str]] = PEOPLE) -> list[Slip]:
    return [Slip(Candidate(last, first, number), code) for last, first, number, code in people]


def pages(data: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_every_slip_shows_name_number_code_and_the_sitting() -> None:
    text = " ".join(pages(slips_pdf(SITTING, slips())))
    for last, first, number, code in PEOPLE:
        assert f"{first} {last.upper()}" in text
        assert f"N° de candidat : {number}" in text
        assert code in text
    assert text.count("Administrer un serveur Linux — épreuve pratique") == 9
    assert text.count("lundi 30 novembre 2026 à 09:00") == 9
    assert text.count("Salle : Salle B204") == 9
    assert text.count("Adresse : https://praxis.example/exam") == 9
    assert text.count(INSTRUCTIONS) == 9


@pytest.mark.parametrize(("count", "expected"), [(1, 1), (8, 1), (9, 2), (16, 2), (17, 3)])
def test_eight_slips_a_page(count: int, expected: int) -> None:
    people = [("Curie", "Marie", f"{n}", f"CODE-{n:04d}") for n in range(count)]
    assert len(pages(slips_pdf(SITTING, slips(people)))) == expected


def test_slips_print_by_last_then_first_name_ignoring_accents_and_case() -> None:
    found = pages(slips_pdf(SITTING, slips()))
    assert len(found) == 2
    assert PRINT_ORDER[-1] in found[1] and PRINT_ORDER[-2] not in found[1]
    text = " ".join(found)
    positions = [text.index(name) for name in PRINT_ORDER]
    assert positions == sorted(positions)


def test_screen_order_is_print_order_whatever_the_input_order() -> None:
    shuffled = slips()
    random.Random(7).shuffle(shuffled)
    assert [s.candidate.full_name for s in ordered_slips(shuffled)] == PRINT_ORDER
    assert ordered_slips(shuffled) == ordered_slips(slips())


def test_homonyms_are_ordered_by_number() -> None:
    twins = slips([("Curie", "Marie", "B-2", "CODE-0002"), ("Curie", "Marie", "a-1", "CODE-0001")])
    assert [s.code for s in ordered_slips(twins)] == ["CODE-0001", "CODE-0002"]


def test_slips_have_dashed_cut_lines() -> None:
    page = PdfReader(io.BytesIO(slips_pdf(SITTING, slips()))).pages[0]
    assert b"[4 3] 0 d" in page.get_contents().get_data()  # type: ignore[union-attr]


def test_text_is_never_markup() -> None:
    odd = SlipSitting(
        "Réseaux <b>&</b> sécurité", SITTING.starts_at, "B204 & B205", "https://x/?a=1&b=2"
    )
    text = " ".join(pages(slips_pdf(odd, slips()[:1])))
    assert "Réseaux <b>&</b> sécurité" in text
    assert "Salle : B204 & B205" in text
    assert "https://x/?a=1&b=2" in text


@pytest.mark.parametrize(
    ("last", "first", "printed"),
    [
        ("Nguyễn", "Văn An", "Văn An NGUYỄN"),
        ("Wiśniewski", "Łukasz", "Łukasz WIŚNIEWSKI"),
        ("Papadopoulos", "Αλέξης", "Αλέξης PAPADOPOULOS"),
        ("Смирнова", "Анна", "Анна СМИРНОВА"),
    ],
)
def test_a_name_prints_as_written(last: str, first: str, printed: str) -> None:
    """The slip the candidate keeps: Helvetica printed "Văn An NGUYỄN" as "V?n An NGUY?N"."""
    text = " ".join(pages(slips_pdf(SITTING, slips([(last, first, "2024-011", "ABCD-EFGH")]))))
    assert f"2026 à 09:00 Salle : Salle B204 {printed} N° de candidat : 2024-011" in text


def test_a_letter_the_pdf_fonts_lack_prints_as_a_question_mark() -> None:
    """DejaVu draws Vietnamese (Helvetica did not: this test recorded "An NGUY?N"), not Chinese
    characters: "?" is visible and honest, and the number and code still identify the candidate."""
    people = [("Nguyễn 阮", "An", "2024-010", "QRST-UVWX")]
    text = " ".join(pages(slips_pdf(SITTING, slips(people))))
    assert "An NGUYỄN ? N° de candidat" in text
    assert "2024-010" in text and "QRST-UVWX" in text


def test_no_slip_is_refused() -> None:
    with pytest.raises(ValueError, match="no slips"):
        slips_pdf(SITTING, [])


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "lundi 30 novembre 2026 à 09:00"),
        (datetime(2026, 7, 1, 12, 30), "mercredi 1er juillet 2026 à 14:30"),  # naive is UTC
        (
            datetime(2027, 2, 14, 9, 5, tzinfo=timezone(timedelta(hours=-5))),
            "dimanche 14 février 2027 à 15:05",
        ),
        (datetime(2026, 8, 15, 22, 0, tzinfo=UTC), "dimanche 16 août 2026 à 00:00"),
    ],
)
def test_french_dates_without_a_locale(moment: datetime, expected: str) -> None:
    assert french_datetime(moment) == expected


def test_other_time_zone() -> None:
    moment = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert french_datetime(moment, "America/Cayenne") == "lundi 30 novembre 2026 à 05:00"
    data = slips_pdf(SITTING, slips()[:1], tz="Indian/Reunion")
    assert "lundi 30 novembre 2026 à 12:00" in " ".join(pages(data))
