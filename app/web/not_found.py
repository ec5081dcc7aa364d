"""Unknown addresses: a browser gets a page in the site's layout and language, an API client
the JSON it always had."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.web.i18n import LANGS, texts
from app.web.templates import templates


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept: text/html), not a script calling the API."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith("/api/")


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _not_found(request: Request, exc: HTTPException) -> Response:
        if exc.status_code != 404 or not wants_html(request):
            return await http_exception_handler(request, exc)
        cookie = request.cookies.get("lang")
        lang = cookie if cookie in LANGS else "fr"
        return templates.TemplateResponse(
            request, "not_found.html", {"t": texts(lang), "lang": lang}, status_code=404
        )
