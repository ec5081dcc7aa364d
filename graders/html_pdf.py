"""Checks of the html-pdf-service scenario: the candidate's service is used once per grading
as its clients would use it, from the grader's side, with documents it has never seen; the
PDFs that come back are read by the grader itself (graders.pdf_documents)."""

from __future__ import annotations

import json
import secrets
import select
import socket
import time
from dataclasses import dataclass, field

from pypdf import PasswordType, PdfReader

from graders import pdf_documents as docs
from graders.contract import CheckContext, CheckResult
from graders.exercise import Finding, Steps, criterion, once, said
from graders.web import RawReply, http_request

PORT = 8080
PATH = "/convert"
MAX_PDF = 8 << 20
CONVERT_DEADLINE = 30.0  # a conversion of three pages takes about a second
HUGE = 3 << 20  # a request body past the subject's 2 MiB limit
START_WAIT = 20.0  # after the lab's restart, for the service to listen


@dataclass
class Service:
    """What the service did in this grading."""

    steps: Steps = field(default_factory=Steps)

    def judge(self, ctx: CheckContext, *names: str) -> CheckResult:
        return self.steps.judge(ctx, *names, unexercised="not exercised")


def service(ctx: CheckContext, node: str) -> Service:
    return once(ctx, node, "html2pdf", lambda: _Run(ctx, node).all())


class _Run:
    def __init__(self, ctx: CheckContext, node: str) -> None:
        self.ctx, self.node = ctx, node
        self.password = "Px-" + secrets.token_urlsafe(12)
        self.document = docs.order_form()
        self.done = Service()
        self.pdf: bytes | None = None
        self.reader: PdfReader | None = None

    def all(self) -> Service:
        steps = self.done.steps
        steps.run(self.ctx, "convert", self.convert)
        if self.pdf is not None:
            steps.run(self.ctx, "encrypted", self.encrypted)
            steps.run(self.ctx, "text", self.text)
            steps.run(self.ctx, "layout", self.layout)
        steps.run(self.ctx, "local-files", self.local_files)
        steps.run(self.ctx, "bad-input", self.bad_input)
        return self.done

    def post(self, ctx: CheckContext, body: bytes, shown: str) -> RawReply | None:
        headers = {"Content-Type": "application/json"}
        return http_request(ctx, self.node, PORT, "POST", PATH, body=body, headers=headers,
                            limit=MAX_PDF, shown=shown, deadline=CONVERT_DEADLINE)  # fmt: skip

    def ask(self, ctx: CheckContext, html: str, what: str) -> RawReply | None:
        body = json.dumps({"html": html, "password": self.password}).encode()
        return self.post(ctx, body, f"{what} and a password (not shown)")

    def convert(self, ctx: CheckContext) -> list[Finding]:
        _wait_for(ctx, self.node, START_WAIT)
        reply = self.ask(ctx, self.document.html, "an order form of 3 pages")
        if reply is None:
            return [(False, f"no answer on port {PORT}")]
        kind = reply.headers.get("content-type", "")
        is_pdf = reply.body.startswith(b"%PDF-") and not reply.cut
        if reply.status == 200 and is_pdf:
            self.pdf = reply.body
        return [
            said(reply.status == 200, "HTTP 200", f"HTTP {reply.status}, expected 200"),
            said(kind.startswith("application/pdf"), "application/pdf", f"content type {kind!r}"),
            said(is_pdf, f"a PDF of {len(reply.body)} bytes", "the answer is no PDF"),
        ]

    def encrypted(self, ctx: CheckContext) -> list[Finding]:
        start = time.monotonic()
        reader = docs.open_pdf(self.pdf or b"")
        if reader is None:
            return [(False, "the PDF cannot be read")]
        how = docs.encryption(reader)
        # A wrong password, and the empty one (an empty owner password would open it).
        shut = [reader.decrypt(p) if reader.is_encrypted else None for p in ("not-it", "")]
        wrong = PasswordType.NOT_DECRYPTED if set(shut) == {PasswordType.NOT_DECRYPTED} else None
        right = reader.decrypt(self.password) if reader.is_encrypted else None
        opened = right not in (None, PasswordType.NOT_DECRYPTED)
        self.reader = reader if opened or not reader.is_encrypted else None
        ctx.record(self.node, "read the PDF's encryption (the grader)", 0,
                   f"{how}; a wrong and the empty password: {shut!r}; the request's: {right!r}",
                   start,
                   "outside")  # fmt: skip
        return [
            said(how.startswith("AES"), f"encrypted with {how}", f"encryption: {how}, not AES"),
            said(wrong == PasswordType.NOT_DECRYPTED, "a wrong password does not open it",
                 "a wrong or the empty password opens it"),
            said(opened, "the request's password opens it",
                 "the request's password does not open it"),
        ]  # fmt: skip

    def readable(self, ctx: CheckContext, what: str) -> tuple[PdfReader | None, str]:
        """The PDF opened with the request's password (or as it is, if not encrypted)."""
        reader = self.reader or docs.open_pdf(self.pdf or b"")
        if reader is not None and reader.is_encrypted and self.reader is None:
            return None, "the PDF cannot be opened with the request's password"
        if reader is None:
            return None, "the PDF cannot be read"
        start = time.monotonic()
        text = docs.text_of(reader)
        ctx.record(self.node, f"{what} (the grader reads the PDF)", 0, text, start, "outside")
        return reader, text

    def text(self, ctx: CheckContext) -> list[Finding]:
        reader, text = self.readable(ctx, "the PDF's text")
        if reader is None:
            return [(False, text)]
        missing = docs.in_order(self.document.texts, text)
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            return [(False, f"missing or out of order: {missing[0]!r}{more}")]
        return [(True, f"all {len(self.document.texts)} passages, in order")]

    def layout(self, ctx: CheckContext) -> list[Finding]:
        reader, text = self.readable(ctx, "the PDF's pages")
        if reader is None:
            return [(False, text)]
        pages, pictures = len(reader.pages), docs.images(reader)
        lost = docs.in_order(self.document.cells, text)
        return [
            said(pages == self.document.pages, f"{pages} pages, one a section",
                 f"{pages} pages, expected {self.document.pages} (one a section)"),
            said(not lost, "the table's cells in row order",
                 f"the table lacks {lost[0]!r} in its place" if lost else ""),
            said(pictures >= 1, "the image is there", "no image in the PDF"),
        ]  # fmt: skip

    def local_files(self, ctx: CheckContext) -> list[Finding]:
        reply = self.ask(ctx, docs.local_files(), "a document asking for file:///etc/passwd")
        if reply is None:
            return [(False, f"no answer on port {PORT}")]
        if reply.status != 200:
            return [said(400 <= reply.status < 500, f"the document is refused ({reply.status})",
                         f"HTTP {reply.status}")]  # fmt: skip
        reader = docs.open_pdf(reply.body)
        if reader is None:
            return [(False, "the answer is no PDF")]
        if reader.is_encrypted:
            reader.decrypt(self.password)
        start = time.monotonic()
        leaked = sum(b"root:" in a for a in docs.attachments(reader))
        leaked += "root:" in docs.text_of(reader)
        ctx.record(self.node, "look for /etc/passwd in the PDF (the grader)", leaked,
                   f"{leaked} place(s) with the file's content", start, "outside")  # fmt: skip
        return [said(not leaked, "no file of the server gets into the PDF",
                     "the PDF holds the server's /etc/passwd")]  # fmt: skip

    def bad_input(self, ctx: CheckContext) -> list[Finding]:
        asked = [
            (b"{not json", "a body that is not JSON"),
            (_json(html="<p>x</p>"), "a document without password"),
            (_json(html="<p>x</p>", password=""), "a document with an empty password"),
            (_json(html="plain text, no tag", password="x"), "a text without HTML"),
        ]
        found = []
        for body, what in asked:
            reply = self.post(ctx, body, what)
            status = reply.status if reply else None
            found.append(said(status == 400, f"{what}: 400", f"{what}: {status}, not 400"))
        status = _oversized(ctx, self.node, HUGE)
        found.append(said(status == 413, "a 3 MiB body: 413", f"a 3 MiB body: {status}, not 413"))
        again = self.ask(ctx, "<p>Encore</p>", "a small document, after the bad ones")
        alive = again is not None and again.status == 200 and again.body.startswith(b"%PDF-")
        found.append(said(alive, "the service still converts afterwards",
                          "the service no longer converts afterwards"))  # fmt: skip
        return found


converts = criterion(service, "convert", node="pdf")
encrypted = criterion(service, "encrypted", node="pdf")
text_kept = criterion(service, "text", node="pdf")
layout_kept = criterion(service, "layout", node="pdf")
refuses_bad_input = criterion(service, "bad-input", node="pdf")
no_local_files = criterion(service, "local-files", node="pdf")


def _json(**fields: str) -> bytes:
    return json.dumps(fields).encode()


def _wait_for(ctx: CheckContext, node: str, seconds: float) -> None:
    """Give the service the time to start after the lab's restart (a program that imports
    WeasyPrint takes a second or two before it listens), recorded as evidence."""
    address, start = ctx.address(node), time.monotonic()
    while True:
        try:
            socket.create_connection((address, PORT), timeout=1).close()
            what = f"listening after {time.monotonic() - start:.1f}s"
            break
        except OSError as exc:
            if time.monotonic() - start > seconds:
                what = f"not listening after {seconds:g}s: {exc}"
                break
            time.sleep(0.25)
    ctx.record(node, f"wait for port {PORT} (from the grader)", None, what, start, "outside")


def _oversized(ctx: CheckContext, node: str, size: int) -> int | None:
    """POST a body of `size` bytes and the status it gets. The answer is read as soon as one
    comes: a server may answer 413 from the headers alone and close without reading the rest."""
    address, start = ctx.address(node), time.monotonic()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    sent, answer = 0, b""
    try:
        with socket.create_connection((address, PORT), timeout=5) as sock:
            sock.sendall(head)
            try:
                while sent < size and not select.select([sock], [], [], 0.5 if not sent else 0)[0]:
                    sent += sock.send(_PADDING[: size - sent])
            except OSError:  # it closed while we sent: its answer may be waiting
                pass
            answer = sock.recv(4096)
    except OSError as exc:
        answer = answer or str(exc).encode()
    first = answer.split(b"\r\n", 1)[0].decode("latin-1")
    what = f"POST http://{address}:{PORT}{PATH} with a body of {size} bytes (from the grader)"
    ctx.record(node, what, None, f"sent {sent} bytes of the body; answer: {first}", start,
               "outside")  # fmt: skip
    parts = first.split()
    if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


_PADDING = b" " * (1 << 16)
