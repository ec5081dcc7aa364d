"""The PDFs' TrueType fonts: found where Debian installs them (or word of what to install),
the only fonts the PDFs name, and what text they can draw."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from app import doctor
from app.reports import render_pdf
from app.reports.fonts import (
    FONT_DIR,
    MONO,
    MONO_BOLD,
    SANS,
    SANS_BOLD,
    FontsMissing,
    glyphs,
    register_fonts,
)
from app.reports.pdf_text import pdf_safe
from app.sittings.slips import slips_pdf
from tests.unit.test_reports import incomplete_report
from tests.unit.test_slips import SITTING, slips
from tests.unit.test_topology import picture, ten_nodes


def test_missing_font_files_name_the_package_to_install(tmp_path: Path) -> None:
    (tmp_path / f"{SANS}.ttf").write_bytes(b"")  # one face present, three missing
    with pytest.raises(FontsMissing, match="install the Debian package fonts-dejavu-core") as err:
        register_fonts(tmp_path)
    assert str(tmp_path / f"{MONO_BOLD}.ttf") in str(err.value)
    assert str(tmp_path / f"{SANS}.ttf") not in str(err.value)


def test_a_family_draws_what_both_its_faces_draw() -> None:
    """The Vietnamese "ễ" is in DejaVu Sans, not in DejaVu Sans Mono; no DejaVu face has 漢."""
    assert {ord("ễ"), ord("Ł"), ord("└")} <= glyphs(SANS) == glyphs(SANS_BOLD)
    assert ord("└") in glyphs(MONO) and ord("ễ") not in glyphs(MONO_BOLD)
    assert not {ord("漢")} & (glyphs(SANS) | glyphs(MONO))


def test_doctor_finds_the_fonts() -> None:
    found = doctor._fonts()
    assert found.ok and "DejaVu" in found.detail


def test_doctor_says_what_installs_missing_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "missing_fonts", lambda: [FONT_DIR / f"{MONO}.ttf"])
    found = doctor._fonts()
    assert not found.ok and f"{MONO}.ttf" in found.detail
    assert "fonts-dejavu-core" in found.fix


def fonts_named(data: bytes) -> set[str]:
    """Every page's fonts, each as its name if its file is embedded, else "standard NAME"."""
    found = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and "/FontFile2" in descriptor.get_object()
            # "/AAAAAA+DejaVuSans": a subset of DejaVu Sans
            name = str(font["/BaseFont"]).lstrip("/").split("+")[-1]
            found.add(name if embedded else f"standard {name}")
    return found


def test_the_pdfs_name_no_font_but_the_embedded_dejavu_ones() -> None:
    """A standard font (Helvetica) would draw a black box where pdf_safe kept a letter."""
    report = render_pdf(incomplete_report(topology=picture(ten_nodes())))  # tampered files: mono
    assert fonts_named(report) == {SANS, SANS_BOLD, MONO}
    assert fonts_named(slips_pdf(SITTING, slips())) == {SANS, SANS_BOLD, MONO, MONO_BOLD}


@pytest.mark.parametrize(
    ("text", "font", "safe"),
    [
        ("Nguyễn └─ ✓", SANS_BOLD, "Nguyễn └─ ✓"),
        ("Nguyễn └─ ✓", MONO, "Nguy?n └─ ✓"),  # DejaVu Sans Mono has no "ễ"
        ("a\uef00b", SANS, "a?b"),  # private use: DejaVu's own glyph there means nothing here
        ("a\u202eb\u2066c", SANS, "a?b?c"),  # direction controls: reportlab ignores them
        ("x\u3000y", SANS, "x y"),  # a space it lacks (ideographic) is a plain space
    ],
)
def test_pdf_safe_keeps_what_the_font_draws(text: str, font: str, safe: str) -> None:
    assert pdf_safe(text, font) == safe
