"""Server-rendered pages: sign-in, the candidate's exam page, the examiners' dashboard and
session view, the instructors' scenario list. Actions go through the JSON API (same cookie)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Cookie, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from app import csrf
from app.api.deps import COOKIE, CatalogDep, SessionDep
from app.api.reports import scenario_topology, session_report
from app.auth import Principal, authenticate
from app.catalog import Catalog
from app.clock import seconds_left
from app.errors import PraxisError, Unauthorized
from app.models import LabSession, Result, Role, State
from app.reports.messages import end_reason
from app.reports.view import View, build_view
from app.reports.words import percent
from app.web.deps import Examiner, ExaminerFragment, Staff
from app.web.formats import audit_details, local, span
from app.web.i18n import LANGS, texts
from app.web.listing import clock, extensions, titles
from app.web.live import Live, dashboard_table
from app.web.row_cache import rows_html
from app.web.templates import templates
from graders.runner import render
from labs.topology import render_svg

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


def words(request: Request, lang: str | None) -> dict[str, Any]:
    """What a template writes words, times and numbers with, in `lang` and the platform's zone."""
    settings = request.app.state.settings
    zone, said = ZoneInfo(settings.timezone), _lang(lang)
    return {
        "t": texts(said),
        "lang": said,
        "local": partial(local, zone=zone, lang=said),
        "span": partial(span, lang=said),
        "details": partial(audit_details, zone=zone, lang=said),
        "clock": clock,
        "percent": partial(percent, lang=said),  # the report's number format
        "zone": settings.timezone,
    }


def _page(request: Request, name: str, lang: str | None, **context: Any) -> HTMLResponse:
    settings = request.app.state.settings
    token, fresh = csrf.page_token(request)
    response = templates.TemplateResponse(
        request, name, {**words(request, lang), "csrf": token, **context}
    )
    if fresh:  # the first page this browser sees: its forms' token comes from this cookie
        secure = csrf.secure(request, settings.secure_cookies)
        response.set_cookie(csrf.PRE_COOKIE, fresh, httponly=True, samesite="strict", secure=secure)
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


def _forbidden(request: Request, lang: str | None) -> HTMLResponse:
    response = _page(request, "forbidden.html", lang)
    response.status_code = 403
    return response


def _node_states(lang: str) -> dict[str, str]:
    """The engine's container states (`running`, `exited`…) in words, for the exam page."""
    return {key[5:]: text for key, text in texts(lang).items() if key.startswith("node.")}


def _node_names(catalog: Catalog, lab: LabSession) -> list[str]:
    """The lab's machines; before it is built, the scenario's (so their terminals are there,
    waiting, and connect as soon as the lab is ready)."""
    if lab.nodes:
        return list(lab.nodes)
    try:
        return list(catalog.get(lab.scenario).nodes)
    except PraxisError:  # the scenario went away or broke: the page still opens
        return []


def _topology(catalog: Catalog, lab: LabSession, lang: str) -> Markup | None:
    """The lab's picture as inline SVG (render_svg escapes every text); None without links."""
    picture = scenario_topology(catalog, lab.scenario, lang)
    return Markup(render_svg(picture)) if picture else None


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
        nodes=_node_names(catalog, lab),
        node_states=_node_states(_lang(lang)),
        instructions=_markdown.render(render(source, lab.params)),
        topology=_topology(catalog, lab, _lang(lang)),
    )


def live(request: Request) -> Live:
    """The live tables' health and progress: the controller's watches."""
    controller = request.app.state.controller
    return Live(controller.watch.node_states, controller.progress.of)


def _rows(request: Request, db: SessionDep, catalog: Catalog, lang: str) -> dict[str, Any]:
    rows, names = dashboard_table(db, catalog, lang, live(request))
    context = {**words(request, lang), "titles": names}
    html = rows_html(
        "_session_row.html",
        rows,
        lambda row: (row.shown(), names[row.lab.scenario]),
        lambda row: row.left,
        context,
    )
    return {"rows_html": html}


@router.get("/staff", response_class=HTMLResponse)
def dashboard(
    request: Request, db: SessionDep, catalog: CatalogDep, _: Examiner, lang: LangCookie = None
) -> HTMLResponse:
    return _page(request, "dashboard.html", lang, **_rows(request, db, catalog, _lang(lang)))


@router.get("/staff/fragments/sessions", response_class=HTMLResponse)
def dashboard_rows(
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    _: ExaminerFragment,
    lang: LangCookie = None,
) -> HTMLResponse:
    """The dashboard's table body, polled by htmx."""
    return _page(request, "_session_rows.html", lang, **_rows(request, db, catalog, _lang(lang)))


def _report_view(
    request: Request, db: SessionDep, catalog: Catalog, lab: LabSession, lang: str
) -> View | None:
    """The grade as the jury report states it (app.reports.view): the page and the PDF print
    the same words, points and number formats. None before the lab is graded."""
    result = db.get(Result, lab.id)
    if result is None:
        return None
    report = session_report(db, catalog, lab, result, lang)
    return build_view(report, request.app.state.settings.timezone)


@router.get("/staff/sessions/{session_id}", response_class=HTMLResponse, response_model=None)
def session_page(
    session_id: str,
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    who: Examiner,
    lang: LangCookie = None,
) -> Response:
    lab = db.get(LabSession, session_id)
    if lab is None or lab.pooled:  # a pooled lab is no one's session yet
        raise HTTPException(404, "no such session")  # the 404 page, in the reader's language
    recordings = request.app.state.terminals.recorded_nodes(session_id)
    return _page(
        request,
        "session.html",
        lang,
        lab=lab,
        report=_report_view(request, db, catalog, lab, _lang(lang)),
        topology=_topology(catalog, lab, _lang(lang)),
        end_reason=end_reason(lab.reason or "", _lang(lang)),
        recordings=recordings,
        left=seconds_left(lab),
        extensions=extensions(db, session_id),
        title=titles(catalog, [lab.scenario], _lang(lang))[lab.scenario],
        me=who.name,
        states={s.value: texts(_lang(lang))[f"state.{s.value}"] for s in State},
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
    _: Examiner,
    lang: LangCookie = None,
) -> Response:
    lab = db.get(LabSession, session_id)
    if lab is None or node not in request.app.state.terminals.recorded_nodes(session_id):
        raise HTTPException(404, "no such recording")
    return _page(request, "replay.html", lang, lab=lab, session_id=session_id, node=node)


@router.get("/staff/scenarios", response_class=HTMLResponse, response_model=None)
def scenarios_page(
    request: Request,
    catalog: CatalogDep,
    _: Staff,
    lang: LangCookie = None,
) -> Response:
    rows = []
    for scenario_id in catalog.ids():
        scenario, problems = catalog.check(scenario_id)
        rows.append(
            {"id": scenario_id, "scenario": scenario, "problems": [str(p) for p in problems]}
        )
    return _page(request, "scenarios.html", lang, rows=rows)
