"""The html-pdf-service exam's documents, new at each grading, and how the grader reads a PDF.

A document is an order form of the exam's bookshop with fresh references in it (the candidate
cannot have seen it), French text with its accents and symbols, a list, a table, an embedded
image and three sections that each start a page. What must come back is known exactly: the
texts in order, the table's cells in order, three pages, one image.
"""

from __future__ import annotations

import base64
import io
import secrets
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

MAX_PAGES = 20  # pages the grader reads: a hostile PDF costs a bounded time


@dataclass(frozen=True)
class Document:
    html: str
    texts: list[str]  # what the PDF's text must hold, in this order
    cells: list[str]  # the table's cells, row by row
    pages: int


def order_form() -> Document:
    tag = secrets.token_hex(3).upper()
    refs = [f"{tag}-{secrets.randbelow(9000) + 1000}" for _ in range(6)]
    texts = [
        f"Bon de commande n° {tag}",
        "Librairie Colibri — boutique « Centre », commande préparée par Élodie Lefèvre.",
        "Cœur de l'été : 3 × « Les Misérables » à 12,50 € ; ça coûte 37,50 € TTC.",
        f"Réf. {refs[0]} — Germinal",
        f"Réf. {refs[1]} — L'Œuvre",
        f"Réf. {refs[2]} — Nana",
        f"Détail de la commande {tag}",
    ]
    rows = [["Article", "Quantité", "Prix"]] + [
        [refs[3 + i], str(i + 2), f"{9 + i},90 €"] for i in range(3)
    ]
    cells = [cell for row in rows for cell in row]
    tail = [f"Conditions {tag}", "Paiement à réception ; aucune pénalité avant le 30e jour."]
    table = "".join(
        "<tr>" + "".join(f"<{'th' if r == 0 else 'td'}>{c}</{'th' if r == 0 else 'td'}>"
                         for c in row) + "</tr>"
        for r, row in enumerate(rows)
    )  # fmt: skip
    html = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Commande {tag}</title>
<style>section + section {{ break-before: page; }} td, th {{ border: 1px solid black; }}</style>
</head><body>
<section><h1>{texts[0]}</h1><p>{texts[1]}</p><p>{texts[2]}</p>
<ul><li>{texts[3]}</li><li>{texts[4]}</li><li>{texts[5]}</li></ul></section>
<section><h2>{texts[6]}</h2><table>{table}</table>
<p><img alt="logo" width="48" height="48" src="data:image/png;base64,{_png()}"></p></section>
<section><h2>{tail[0]}</h2><p>{tail[1]}</p></section>
</body></html>
"""
    return Document(html, texts + tail, cells, 3)


def local_files() -> str:
    """A document that asks for a file of the server three ways; WeasyPrint's default fetcher
    would embed it as an attachment (`rel=attachment`)."""
    return """<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="file:///etc/passwd">
<link rel="attachment" href="file:///etc/passwd" title="passwd">
</head><body><p>Pièce jointe</p><img src="file:///etc/passwd" alt="x">
<p><a rel="attachment" href="file:///etc/passwd">passwd</a></p></body></html>
"""


def _png() -> str:
    """A 4×4 PNG of a colour drawn at random, base64: an image nobody has seen."""
    colour = bytes(secrets.randbelow(256) for _ in range(3))
    raw = b"".join(b"\x00" + colour * 4 for _ in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    return base64.b64encode(png + chunk(b"IEND", b"")).decode()


def squeezed(text: str) -> str:
    """Text as compared: NFKC (a ligature "ﬁ" is "fi"), without any white space (where a PDF
    breaks lines and spaces words is the renderer's business)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def in_order(wanted: list[str], text: str) -> list[str]:
    """The `wanted` strings not found in `text` in that order (each after the previous one)."""
    haystack, at, missing = squeezed(text), 0, []
    for item in wanted:
        found = haystack.find(squeezed(item), at)
        if found < 0:
            missing.append(item)
        else:
            at = found + len(squeezed(item))
    return missing


def open_pdf(data: bytes) -> PdfReader | None:
    """The PDF, or None if it is none."""
    try:
        return PdfReader(io.BytesIO(data), strict=False)
    except (PdfReadError, ValueError, OSError, KeyError):
        return None


def encryption(reader: PdfReader) -> str:
    """How the PDF is encrypted: "AES-256", "AES-128", "RC4" or "none"."""
    if not reader.is_encrypted:
        return "none"
    spec: Any = reader.trailer["/Encrypt"].get_object()
    version = int(spec.get("/V", 0))
    if version >= 5:
        return "AES-256"
    if version == 4:
        filters = spec.get("/CF", {})
        methods = {str(f.get_object().get("/CFM", "")) for f in filters.values()}
        return "AES-128" if "/AESV2" in methods else "AES-256" if "/AESV3" in methods else "RC4"
    return "RC4"


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages[:MAX_PAGES])


def images(reader: PdfReader) -> int:
    """Image XObjects on the pages (what a data: image becomes)."""
    count = 0
    for page in reader.pages[:MAX_PAGES]:
        objects = _resolved(_resolved(page.get("/Resources")).get("/XObject"))
        count += sum(_resolved(item).get("/Subtype") == "/Image" for item in objects.values())
    return count


def _resolved(value: Any) -> Any:
    """A PDF object behind its reference; {} for none."""
    value = value.get_object() if hasattr(value, "get_object") else value
    return value if isinstance(value, dict) else {}


def attachments(reader: PdfReader) -> list[bytes]:
    found = []
    for contents in reader.attachments.values():
        found += [c[: 1 << 16] for c in contents]
    return found
