#!/usr/bin/env bash
# Reference solution of the html-pdf-service scenario, run as root on the node `pdf`.
# Idempotent: safe to run twice.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io \
    python3 weasyprint python3-pikepdf >/dev/null

id html2pdf >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin html2pdf
install -d -m 0755 -o root -g root /opt/html2pdf
install -m 0644 -o root -g root /dev/stdin /opt/html2pdf/server.py <<'EOF'
"""html2pdf: POST /convert {"html": ..., "password": ...} -> the PDF, encrypted with AES-256.

WeasyPrint draws the PDF; pikepdf (qpdf) encrypts it: Debian 12's pypdf only does RC4."""

import io
import json
import logging
import re
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pikepdf
import weasyprint

LIMIT = 2 * 1024 * 1024
TAG = re.compile(r"<[a-zA-Z][^>]*>")
log = logging.getLogger("html2pdf")


def only_data(url, *args, **kwargs):
    """Embedded resources only: nothing from the network, no file of this server."""
    if url.startswith("data:"):
        return weasyprint.default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"refused: {url[:60]}")


def convert(html, password):
    pdf = weasyprint.HTML(string=html, url_fetcher=only_data).write_pdf()
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        lock = pikepdf.Encryption(user=password, owner=secrets.token_urlsafe(24), R=6)
        document.save(out, encryption=lock)
    return out.getvalue()


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body, kind="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message):
        log.info("%s %s: %s", self.command, self.path, message)
        self.answer(status, json.dumps({"error": message}).encode())

    def do_POST(self):
        if self.path != "/convert":
            return self.error(404, "unknown path")
        size = int(self.headers.get("Content-Length") or 0)
        if size > LIMIT:
            self.close_connection = True
            return self.error(413, "request larger than 2 MiB")
        try:
            request = json.loads(self.rfile.read(size))
            html, password = request["html"], request["password"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, 'expected JSON {"html": ..., "password": ...}')
        if not isinstance(html, str) or not isinstance(password, str) or not password:
            return self.error(400, "html and a non-empty password are required")
        if not TAG.search(html):
            return self.error(400, "html holds no HTML element")
        try:
            pdf = convert(html, password)
        except Exception as exc:  # a document WeasyPrint cannot render
            return self.error(400, f"cannot convert: {type(exc).__name__}")
        log.info("converted %d bytes of HTML into %d bytes of PDF", len(html), len(pdf))
        self.answer(200, pdf, "application/pdf")

    def do_GET(self):
        self.error(405, "use POST /convert")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    ThreadingHTTPServer(("", 8080), Handler).serve_forever()
EOF
cat >/etc/systemd/system/html2pdf.service <<'EOF'
[Unit]
Description=HTML to PDF conversion service (POST /convert)
After=network.target

[Service]
User=html2pdf
ExecStart=/usr/bin/python3 /opt/html2pdf/server.py
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable html2pdf >/dev/null 2>&1
systemctl restart html2pdf
for _ in $(seq 100); do   # ready when it listens
    python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 1)' 2>/dev/null && break
    sleep 0.2
done
sync
