"""Signing in and out from a browser: staff by password, candidates by exam code. Every form
carries a CSRF token; attempts are throttled per address and per name or code (429 with
`Retry-After`); passwords are hashed a bounded number at a time."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import csrf
from app.api.deps import COOKIE, SessionDep, SettingsDep
from app.auth import (
    ExamNotOpen,
    ExamOver,
    exam_code_hash,
    sign_in_candidate,
    sign_in_staff,
    sign_out,
)
from app.errors import Forbidden, PraxisError, TooManyAttempts, Unauthorized
from app.sittings import service as sittings
from app.throttle import SignInGuard
from app.web.formats import local
from app.web.i18n import texts
from app.web.pages import LangCookie, TokenCookie, _lang, _page

router = APIRouter(include_in_schema=False)
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]


def _signed_in(request: Request, url: str, token: str, settings: Any) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=csrf.secure(request, settings.secure_cookies),
        max_age=24 * 3600,
    )
    return response


def _refused(
    request: Request, name: str, lang: str | None, exc: PraxisError, unknown: str, **context: Any
) -> HTMLResponse:
    """A sign-in form again, saying why in the reader's words, with the error's status."""
    say = texts(_lang(lang))
    headers = exc.headers() if isinstance(exc, TooManyAttempts) else {}
    if headers:
        error = say["too_many"].format(n=headers["Retry-After"])
    elif isinstance(exc, ExamOver):
        error = say["code_over"]
    elif isinstance(exc, ExamNotOpen):
        zone = ZoneInfo(request.app.state.settings.timezone)
        at = local(exc.at, zone, _lang(lang))
        error = say["code_window_closed" if exc.closed else "code_not_open"].format(at=at)
    elif isinstance(exc, Forbidden):
        error = say["csrf_refused"]
    else:
        error = say[unknown]
    response = _page(request, name, lang, error=error, **context)
    response.status_code = exc.status
    response.headers.update(headers)
    return response


def _guard(request: Request, key: str) -> SignInGuard:
    """Throttles this attempt (TooManyAttempts) and gives the guard, for its hash slots."""
    guard: SignInGuard = request.app.state.signin
    guard.admit(request.client.host if request.client else "unknown", key)
    return guard


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, lang: LangCookie = None) -> HTMLResponse:
    return _page(request, "login.html", lang, error=None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: CsrfField = None,
    lang: LangCookie = None,
) -> Response:
    try:
        csrf.check(request, csrf_token)
        with _guard(request, f"staff:{name}").hashing():
            token = sign_in_staff(db, name, password)
    except (Unauthorized, Forbidden, TooManyAttempts) as exc:
        return _refused(request, "login.html", lang, exc, "wrong_login", typed=name)
    return _signed_in(request, "/", token, settings)


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request, lang: LangCookie = None) -> HTMLResponse:
    """Signing out is a POST (a link, prefetched or forged, must not do it): a form here."""
    return _page(request, "logout.html", lang, error=None)


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    db: SessionDep,
    csrf_token: CsrfField = None,
    token: TokenCookie = None,
    lang: LangCookie = None,
) -> Response:
    try:
        csrf.check(request, csrf_token)
    except Forbidden as exc:
        return _refused(request, "logout.html", lang, exc, "csrf_refused")
    sign_out(db, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/exam", response_class=HTMLResponse)
def exam_code_form(request: Request, lang: LangCookie = None) -> HTMLResponse:
    return _page(request, "exam_code.html", lang, error=None)


@router.post("/exam", response_model=None)
def exam_code(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form()],
    csrf_token: CsrfField = None,
    lang: LangCookie = None,
) -> Response:
    try:
        csrf.check(request, csrf_token)
        _guard(request, f"code:{exam_code_hash(code)}")
        token, session_id = sign_in_candidate(db, code, sittings.sign_in, sittings.not_yet)
    except (Unauthorized, Forbidden, TooManyAttempts) as exc:  # the code is kept, to fix
        return _refused(request, "exam_code.html", lang, exc, "unknown_code", code=code)
    return _signed_in(request, f"/exam/{session_id}", token, settings)
