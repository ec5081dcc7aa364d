"""Text the PDFs' fonts can draw, for the report's paragraphs and drawings and the code slips."""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

from app.reports.fonts import SANS, glyphs
from app.reports.words import clean

# reportlab lays text out left to right, with no bidi algorithm unless rlbidi is installed:
# Hebrew or Arabic would print backwards (and Arabic unjoined), and a direction control would
# change nothing on paper but reorder the text a reader copies out of the PDF.
_NEEDS_BIDI: Final = frozenset(
    {"R", "AL", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
)


@functools.cache
def pdf_drawable(char: str, font: str = SANS) -> bool:
    """Whether both faces of `font`'s family (regular and bold: markup may embolden any text)
    have a glyph for the character, and reportlab draws it faithfully. Not drawn: right-to-left
    scripts and direction controls (see above), private-use characters (DejaVu's own glyphs
    there mean nothing to the text's author) and characters beyond U+FFFF, which reportlab's
    ToUnicode map writes in a form readers reject (the text could not be copied or searched)."""
    return (
        ord(char) <= 0xFFFF
        and unicodedata.category(char) != "Co"
        and unicodedata.bidirectional(char) not in _NEEDS_BIDI
        and ord(char) in glyphs(font)
    )


def pdf_safe(text: str, font: str = SANS) -> str:
    """Text `font` can draw: an undrawable character becomes "?" (visible, and honest about
    the loss; never the font's empty box) or a plain space, control characters go, tabs are
    expanded. Composed to NFC first: "ễ" typed as "e" and two accents is one glyph in DejaVu,
    while reportlab would stack the separate accents without positioning them.

    Raises FontsMissing (app.reports.fonts) when the font files are not installed.
    """
    composed = unicodedata.normalize("NFC", clean(text)).expandtabs(8)
    return "".join(
        char if char == "\n" or pdf_drawable(char, font) else " " if char.isspace() else "?"
        for char in composed
    )
