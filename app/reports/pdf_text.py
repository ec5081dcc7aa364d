"""Text the PDF's standard fonts can draw, for the report's paragraphs and its drawings."""

from __future__ import annotations

import functools

from reportlab.pdfbase.rl_codecs import RL_Codecs

from app.reports.words import clean


@functools.cache
def pdf_drawable(char: str) -> bool:
    """Whether reportlab can draw the character with the standard fonts: WinAnsi (cp1252, which
    covers French) in Helvetica/Courier, or its fallback fonts Symbol (→ ≤ ≥) and ZapfDingbats
    (✓ ✗). Anything else would print as a black box."""
    RL_Codecs.register()  # idempotent; reportlab registers its codecs lazily
    for codec in ("winansi", "symbol", "zapfdingbats"):
        try:
            char.encode(codec)
        except (UnicodeError, LookupError):
            continue
        return True
    return False


def pdf_safe(text: str) -> str:
    """Text the standard fonts can draw: an undrawable character becomes "?" (visible, and
    honest about the loss) or a plain space, control characters go, tabs are expanded."""
    return "".join(
        char if char == "\n" or pdf_drawable(char) else " " if char.isspace() else "?"
        for char in clean(text).expandtabs(8)
    )
