"""The API's description and its two readers (Swagger UI, ReDoc), for signed-in staff only:
the routes and their parameters are a map an outsider need not have. A browser's cookie or a
staff Bearer token opens them (API clients and the fuzz tests read `/openapi.json`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.api.deps import CurrentUser
from app.auth import Principal
from app.errors import Forbidden
from app.models import Role

router = APIRouter(include_in_schema=False)


def _staff(who: CurrentUser) -> Principal:
    if who.role is Role.candidate:
        raise Forbidden("the API documentation is for staff")
    return who


StaffReader = Annotated[Principal, Depends(_staff)]


@router.get("/openapi.json")
def openapi(request: Request, _: StaffReader) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request, _: StaffReader) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} — API")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request, _: StaffReader) -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title=f"{request.app.title} — API")
