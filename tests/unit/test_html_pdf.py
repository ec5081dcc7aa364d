"""graders.html_pdf and pdf_documents against a stand-in service on 127.0.0.1 (the candidate's
side: reportlab draws the document's text, one page a section, and pypdf encrypts it), and the
grader's reading of PDFs made here. The real service, with WeasyPrint: tests/integration."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

import graders.html_pdf
from app.reports.fonts import SANS, register_fonts
from graders import pdf_documents as docs
from graders.contract import CheckContext, CommandResult


def render(html: str, password: str, algorithm: str = "AES-256", leak: bool = False) -> bytes:
    """What a careful candidate's service returns, drawn with reportlab instead of WeasyPrint."""
    register_fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for section in re.split(r"<section>", html)[1:] or [html]:
        y = 800
        for text in re.findall(r">([^<>]+)<", section):
            if text.strip():
                pdf.setFont(SANS, 10)
                pdf.drawString(40, y, text.strip())
                y -= 14
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', section):
            picture = ImageReader(io.BytesIO(base64.b64decode(data)))
            pdf.drawImage(picture, 40, y - 50, 40, 40)
        pdf.showPage()
    pdf.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    if leak:
        writer.add_attachment("passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    writer.encrypt(password, "owner", algorithm=algorithm)
    result = io.BytesIO()
    writer.write(result)
    return result.getvalue()


class Service(BaseHTTPRequestHandler):
    algorithm = "AES-256"
    leak = False

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        if size > 2 << 20:
            self.close_connection = True
            return self.reply(413, b'{"error": "too large"}')
        try:
            asked = json.loads(self.rfile.read(size))
            html, password = asked["html"], asked["password"]
        except (ValueError, KeyError):
            return self.reply(400, b'{"error": "bad request"}')
        if not password or not re.search(r"<[a-z]", html):
            return self.reply(400, b'{"error": "bad request"}')
        self.reply(200, render(html, password, self.algorithm, self.leak), "application/pdf")

    def reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Node:
    """The node's transport: never asked here (the service is reached over HTTP)."""

    def run(self, command: str, timeout: float) -> CommandResult:
        raise AssertionError(command)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Service]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    monkeypatch.setattr(graders.html_pdf, "PORT", server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Service
    server.shutdown()
    Service.algorithm, Service.leak = "AES-256", False


def grade(function: str) -> tuple[float, str]:
    ctx = CheckContext({"pdf": Node()}, {"pdf": "127.0.0.1"}, {})
    result = getattr(graders.html_pdf, function)(ctx)
    return result.score, result.message


def test_a_careful_service_passes_every_part(serve: type[Service]) -> None:
    transport = Node()
    results = {}
    for name in ("converts", "encrypted", "text_kept", "layout_kept", "refuses_bad_input",
                 "no_local_files"):  # fmt: skip
        ctx = CheckContext({"pdf": transport}, {"pdf": "127.0.0.1"}, {})
        results[name] = getattr(graders.html_pdf, name)(ctx)
        assert ctx.evidence, name
    assert {n: r.score for n, r in results.items()} == dict.fromkeys(results, 1.0), {
        n: r.message for n, r in results.items()
    }
    assert "encrypted with AES-256" in results["encrypted"].message
    assert "3 pages" in results["layout_kept"].message
    assert "a 3 MiB body: 413" in results["refuses_bad_input"].message


def test_rc4_and_an_attached_file_of_the_server_are_found(serve: type[Service]) -> None:
    serve.algorithm, serve.leak = "RC4-128", True
    transport = Node()
    ctx = CheckContext({"pdf": transport}, {"pdf": "127.0.0.1"}, {})
    encrypted = graders.html_pdf.encrypted(ctx)
    assert encrypted.score == pytest.approx(2 / 3) and "RC4, not AES" in encrypted.message
    again = CheckContext({"pdf": transport}, {"pdf": "127.0.0.1"}, {})
    leaked = graders.html_pdf.no_local_files(again)
    assert (leaked.score, leaked.message) == (0, "the PDF holds the server's /etc/passwd")


def test_nothing_listening_scores_zero_without_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graders.html_pdf, "START_WAIT", 0.5)
    monkeypatch.setattr(graders.html_pdf, "PORT", 9)  # discard: nothing listens there
    score, message = grade("converts")
    assert score == 0 and "no answer" in message


def test_text_is_compared_in_order_whatever_the_spacing_and_ligatures() -> None:
    wanted = ["Le fichier", "Cœur de l'été : 12,50 €"]
    assert docs.in_order(wanted, "Le ﬁ chier\nCœur  de\nl'été :\u00a012,50 €") == []
    assert docs.in_order(wanted, "Cœur de l'été : 12,50 € Le fichier") == [
        "Cœur de l'été : 12,50 €"
    ]


def test_each_grading_has_its_own_document() -> None:
    first, second = docs.order_form(), docs.order_form()
    assert first.html != second.html and first.pages == 3
    assert all(text.split("—")[0].strip() in first.html for text in first.texts)
