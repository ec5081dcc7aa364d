"""One error family for the service; one handler turns it into `{"error", "detail"}`."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

log = logging.getLogger("praxis.api")


class PraxisError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(PraxisError):
    status, code = 404, "not_found"


class Unauthorized(PraxisError):
    status, code = 401, "unauthorized"


class Forbidden(PraxisError):
    status, code = 403, "forbidden"


class Conflict(PraxisError):
    status, code = 409, "conflict"


class Invalid(PraxisError):
    status, code = 422, "invalid"


class TooManyAttempts(PraxisError):
    """Throttled (sign-in floods): answered 429 with `Retry-After`."""

    status, code = 429, "too_many_attempts"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class ErrorPublic(BaseModel):
    """What a refused or failed request answers (the handlers below)."""

    error: str
    detail: str


class ValidationErrorsPublic(BaseModel):
    """FastAPI's own answer to a request that does not fit the route's declared types."""

    detail: list[dict[str, Any]]


def _json(schema: dict[str, Any], what: str) -> dict[str, Any]:
    # A schema, not a `model`: FastAPI would give a model the route's own media type (the
    # text/plain and text/html routes too), but errors are JSON everywhere.
    return {"description": what, "content": {"application/json": {"schema": schema}}}


# Documented on every route (`FastAPI(responses=...)`): a 422 is either FastAPI's check of the
# declared types or a domain `Invalid` (a well-typed request the domain refuses).
_ERROR = ErrorPublic.model_json_schema()
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _json(_ERROR, "Bad request"),
    401: _json(_ERROR, "Not signed in"),
    403: _json(_ERROR, "Not allowed to this role or candidate"),
    404: _json(_ERROR, "Not found"),
    409: _json(_ERROR, "Not in this state"),
    422: _json({"anyOf": [_ERROR, ValidationErrorsPublic.model_json_schema()]}, "Invalid"),
}


def navigating(request: Request) -> bool:
    """A browser following a link or typing an address (Accept: text/html); scripts calling
    the API (fetch, httpx) do not ask for HTML."""
    return "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(PraxisError)
    async def _handle(request: Request, exc: PraxisError) -> Response:
        if exc.status == 401 and navigating(request):  # e.g. a PDF link after the sign-in expired
            return RedirectResponse("/login", status_code=303)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyAttempts):
            headers = exc.headers()
        return JSONResponse({"error": exc.code, "detail": exc.detail}, exc.status, headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            {"error": "internal", "detail": "internal error, logged on the server"}, 500
        )
