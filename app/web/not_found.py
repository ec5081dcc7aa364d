"""Unknown addresses and bad query parameters: a browser gets a page in the site's layout and
language, an API client JSON (the framework's own refusals in the service's one error shape)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from app.errors import navigating
from app.web.i18n import LANGS, texts
from app.web.templates import templates


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept: text/html), not a script calling the API."""
    return navigating(request) and not request.url.path.startswith("/api/")


def _page(request: Request, name: str, status: int, **context: Any) -> Response:
    cookie = request.cookies.get("lang")
    lang = cookie if cookie in LANGS else "fr"
    return templates.TemplateResponse(
        request, name, {"t": texts(lang), "lang": lang, **context}, status_code=status
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _not_found(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request):
            return _page(request, "not_found.html", 404)
        # A body that is not JSON, a wrong method: the documented `{"error", "detail"}`.
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
        body = {"error": code, "detail": str(exc.detail)}
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_query(request: Request, exc: RequestValidationError) -> Response:
        """A mistyped `?page=` is the reader's slip, not a crash: name the parameter."""
        if not wants_html(request):
            return await request_validation_exception_handler(request, exc)
        names = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        return _page(request, "bad_request.html", 400, names=names)
