"""The PDFs' fonts: DejaVu Sans and DejaVu Sans Mono, TrueType, from Debian's `fonts-dejavu-core`.

reportlab's standard fonts (Helvetica, Courier) draw WinAnsi only: "Nguyễn", "Łukasz" or the
box-drawing lines of `systemctl status` would print with "?" in place of letters. DejaVu draws
Latin, Greek, Cyrillic and most symbols; reportlab embeds only the glyphs a PDF uses.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

PACKAGE: Final = "fonts-dejavu-core"
FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")

SANS: Final = "DejaVuSans"
SANS_BOLD: Final = "DejaVuSans-Bold"
MONO: Final = "DejaVuSansMono"
MONO_BOLD: Final = "DejaVuSansMono-Bold"
# Each family's regular and bold faces. fonts-dejavu-core has no oblique faces (they are in
# fonts-dejavu-extra): <i> in a paragraph prints upright rather than fail.
FAMILIES: Final = {SANS: (SANS, SANS_BOLD), MONO: (MONO, MONO_BOLD)}
_FAMILY_OF: Final = {face: family for family, faces in FAMILIES.items() for face in faces}


class FontsMissing(RuntimeError):
    """The font files are not installed: no PDF can be printed until they are."""


def font_files(folder: Path = FONT_DIR) -> dict[str, Path]:
    """Each face's file; the font names are the files' names, as Debian ships them."""
    return {face: folder / f"{face}.ttf" for face in _FAMILY_OF}


def missing_fonts(folder: Path = FONT_DIR) -> list[Path]:
    return [path for path in font_files(folder).values() if not path.is_file()]


@functools.cache
def register_fonts(folder: Path = FONT_DIR) -> None:
    """Registers the faces with reportlab, and each family so that <b> in a paragraph picks the
    bold face. Once a process: reportlab parses each file as it registers it.

    Raises FontsMissing, naming the package to install, when a file is missing.
    """
    missing = missing_fonts(folder)
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise FontsMissing(f"missing {names}: install the Debian package {PACKAGE} (make setup)")
    for face, path in font_files(folder).items():
        pdfmetrics.registerFont(TTFont(face, str(path)))
    for family, (regular, bold) in FAMILIES.items():
        pdfmetrics.registerFontFamily(
            family, normal=regular, bold=bold, italic=regular, boldItalic=bold
        )


@functools.cache
def glyphs(font: str) -> frozenset[int]:
    """The code points every face of `font`'s family has a glyph for: markup may set any text
    in bold, and a character a face lacks would print as its empty box (.notdef)."""
    register_fonts()
    faces = (pdfmetrics.getFont(face).face.charToGlyph for face in FAMILIES[_FAMILY_OF[font]])
    return frozenset.intersection(*(frozenset(cmap) for cmap in faces))
