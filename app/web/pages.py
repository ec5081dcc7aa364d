"""Server-rendered pages: sign-in, the candidate's exam page, the examiners' dashboard and
session view, the instructors' scenario list. Actions go through the JSON API (same cookie)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Cookie, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from sqlmodel import col, select

from app.api.deps import COOKIE, CatalogDep, SessionDep, SettingsDep
from app.api.reports import integrity_of
from app.auth import Principal, authenticate, sign_in_candidate, sign_in_staff
from app.catalog import validate
from app.controller import seconds_left
from app.errors import Forbidden, Unauthorized
from app.models import LIVE_STATES, LabSession, Result, Role
from app.reports.view import incomplete_notice, integrity_views, status_text, via_label
from app.results import effective_grade, overrides_of
from app.web.i18n import LANGS, texts
from app.web.templates import templates
from graders.runner import render

router = APIRouter(include_in_schema=False)
LangCookie = Annotated[str | None, Cookie(alias="lang")]
TokenCookie = Annotated[str | None, Cookie(alias=COOKIE)]
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _lang(lang: str | None) -> str:
    return lang if lang in LANGS else "fr"


def _who(db: SessionDep, token: str | None) -> Principal | None:
    try:
        return authenticate(db, None, token)
    except Unauthorized:
        return None


def _page(request: Request, name: str, lang: str | None, **context: Any) -> HTMLResponse:
    settings = request.app.state.settings
    zone = ZoneInfo(settings.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S") if moment else "—"

    return templates.TemplateResponse(
        request, name, {"t": texts(_lang(lang)), "lang": _lang(lang), "local": local, **context}
    )


def _signed_in(url: str, token: str, settings: Any) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=24 * 3600,
    )
    return response


@router.get("/")
def home(db: SessionDep, token: TokenCookie = None) -> RedirectResponse:
    who = _who(db, token)
    if who is None:
        return RedirectResponse("/exam", status_code=303)
    if who.role is Role.candidate:
        return RedirectResponse(f"/exam/{who.session_id}", status_code=303)
    return RedirectResponse("/staff/scenarios" if who.role is Role.instructor else "/staff", 303)


@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request) -> RedirectResponse:
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", 303)
    response.set_cookie("lang", _lang(lang), samesite="strict", max_age=365 * 24 * 3600)
    return response


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
    lang: LangCookie = None,
) -> Response:
    try:
        token = sign_in_staff(db, name, password)
    except Unauthorized:
        return _page(request, "login.html", lang, error=texts(_lang(lang))["wrong_login"])
    return _signed_in("/", token, settings)


@router.get("/logout")
def logout() -> RedirectResponse:
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
    lang: LangCookie = None,
) -> Response:
    try:
        token, session_id = sign_in_candidate(db, code)
    except Unauthorized:
        return _page(request, "exam_code.html", lang, error=texts(_lang(lang))["unknown_code"])
    return _signed_in(f"/exam/{session_id}", token, settings)


def _forbidden(request: Request, lang: str | None) -> HTMLResponse:
    response = _page(request, "forbidden.html", lang)
    response.status_code = 403
    return response


@router.get("/exam/{session_id}", response_class=HTMLResponse)
def exam_page(
    session_id: str,
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    token: TokenCookie = None,
    lang: LangCookie = None,
) -> Response:
    who = _who(db, token)
    if who is None:
        return RedirectResponse("/exam", status_code=303)
    lab = db.get(LabSession, session_id)
    if lab is None or who.role is not Role.candidate or who.session_id != session_id:
        return _forbidden(request, lang)
    folder = catalog.root / lab.scenario
    path = folder / f"instructions.{_lang(lang)}.md"
    source = (path if path.is_file() else folder / "instructions.fr.md").read_text(encoding="utf-8")
    return _page(
        request,
        "exam.html",
        lang,
        lab=lab,
        nodes=list(lab.nodes) or ["…"],
        instructions=_markdown.render(render(source, lab.params)),
    )


def _staff(db: SessionDep, token: str | None, *roles: Role) -> Principal | None:
    who = _who(db, token)
    if who is None or who.role is Role.candidate:
        return None
    try:
        who.require(*roles)
    except Forbidden:
        return None
    return who


def _rows(request: Request, db: SessionDep) -> list[dict[str, Any]]:
    states = request.app.state.driver.all_node_states()
    labs = db.exec(
        select(LabSession)
        .where(col(LabSession.state).in_(LIVE_STATES))
        .order_by(col(LabSession.created_at).desc())
    )
    return [
        {
            "lab": lab,
            "left": seconds_left(lab),
            "health": states.get(lab.id, {}),
        }
        for lab in labs
    ]


@router.get("/staff", response_class=HTMLResponse, response_model=None)
def dashboard(
    request: Request, db: SessionDep, token: TokenCookie = None, lang: LangCookie = None
) -> Response:
    if _staff(db, token, Role.examiner) is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "dashboard.html", lang, rows=_rows(request, db))


@router.get("/staff/fragments/sessions", response_class=HTMLResponse, response_model=None)
def dashboard_rows(
    request: Request, db: SessionDep, token: TokenCookie = None, lang: LangCookie = None
) -> Response:
    """The dashboard's table body, polled by htmx."""
    if _staff(db, token, Role.examiner) is None:
        return Response(status_code=401)
    return _page(request, "_session_rows.html", lang, rows=_rows(request, db))


def _grade_notes(result: Result | None, lang: str) -> dict[str, Any]:
    """What the page says of a grade besides its scores, in the jury report's own words: an
    incomplete grade, each node's integrity, the status and how each piece of evidence was
    observed. A grade from before the integrity scan shows no integrity at all."""
    stored = result.report if result else {}
    ungraded = sum(1 for c in stored.get("criteria", []) if c.get("status") == "error")
    return {
        "incomplete": incomplete_notice(ungraded, lang),
        "integrity": integrity_views(integrity_of(stored), lang),
        "status_text": partial(status_text, lang=lang),
        "via_label": partial(via_label, lang=lang),
    }


@router.get("/staff/sessions/{session_id}", response_class=HTMLResponse, response_model=None)
def session_page(
    session_id: str,
    request: Request,
    db: SessionDep,
    token: TokenCookie = None,
    lang: LangCookie = None,
) -> Response:
    if _staff(db, token, Role.examiner) is None:
        return RedirectResponse("/login", status_code=303)
    lab = db.get(LabSession, session_id)
    if lab is None:
        return _forbidden(request, lang)
    result = db.get(Result, session_id)
    grade = effective_grade(result, overrides_of(db, session_id)) if result else None
    recordings = request.app.state.terminals.recorded_nodes(session_id)
    return _page(
        request,
        "session.html",
        lang,
        lab=lab,
        grade=grade,
        recordings=recordings,
        left=seconds_left(lab),
        **_grade_notes(result, _lang(lang)),
    )


@router.get(
    "/staff/sessions/{session_id}/recordings/{node}",
    response_class=HTMLResponse,
    response_model=None,
)
def replay(
    session_id: str,
    node: str,
    request: Request,
    db: SessionDep,
    token: TokenCookie = None,
    lang: LangCookie = None,
) -> Response:
    if _staff(db, token, Role.examiner) is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "replay.html", lang, session_id=session_id, node=node)


@router.get("/staff/scenarios", response_class=HTMLResponse, response_model=None)
def scenarios_page(
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    token: TokenCookie = None,
    lang: LangCookie = None,
) -> Response:
    if _staff(db, token, Role.instructor, Role.examiner) is None:
        return RedirectResponse("/login", status_code=303)
    rows = []
    for scenario_id in catalog.ids():
        scenario, problems = validate(catalog.root / scenario_id)
        rows.append(
            {"id": scenario_id, "scenario": scenario, "problems": [str(p) for p in problems]}
        )
    return _page(request, "scenarios.html", lang, rows=rows)
