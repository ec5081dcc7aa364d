"""The examiners' sittings, in the browser: the list, a new sitting's form (candidates typed or
from a roster file), a sitting's page with its candidates' codes, states and scores, its slips,
its results. Forms post here and are checked by app.sittings.service, as the API's calls are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import col, select

from app import csrf
from app.api.deps import CatalogDep, SessionDep
from app.api.reports import download
from app.api.sittings import results_zip
from app.catalog import Catalog
from app.errors import Invalid, PraxisError
from app.models import Sitting, StartMode
from app.sittings import service
from app.sittings.roster import parse_typed, read_roster
from app.sittings.sheet import MAX_BYTES, RosterError
from app.web.deps import Examiner, ExaminerFragment
from app.web.i18n import texts
from app.web.listing import titles
from app.web.live import sitting_table
from app.web.pages import LangCookie, _lang, _page, live, words
from app.web.row_cache import rows_html

router = APIRouter(include_in_schema=False)
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]


@router.get("/staff/sittings", response_class=HTMLResponse)
def sittings_page(
    request: Request, db: SessionDep, catalog: CatalogDep, _: Examiner, lang: LangCookie = None
) -> HTMLResponse:
    rows = list(db.exec(select(Sitting).order_by(col(Sitting.starts_at).desc())))
    counts = {s.id: len(service.candidates_of(db, s.id)) for s in rows}
    names = titles(catalog, [s.scenario for s in rows], _lang(lang))
    return _page(request, "sittings.html", lang, rows=rows, counts=counts, names=names)


def _form(
    request: Request, catalog: Catalog, lang: str | None, status: int = 200, **context: Any
) -> HTMLResponse:
    choices = [(i, s.title.get(_lang(lang))) for i in catalog.ids() if (s := catalog.check(i)[0])]
    response = _page(request, "sitting_new.html", lang, choices=choices, **context)
    response.status_code = status
    return response


@router.get("/staff/sittings/new", response_class=HTMLResponse)
def new_sitting_page(
    request: Request, catalog: CatalogDep, _: Examiner, lang: LangCookie = None
) -> HTMLResponse:
    return _form(request, catalog, lang, values={})


@router.post("/staff/sittings", response_model=None)
async def create_sitting(
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    who: Examiner,
    scenario: Annotated[str, Form()],
    starts_at: Annotated[str, Form()],
    minutes: Annotated[str, Form()] = "",
    room: Annotated[str, Form(max_length=200)] = "",
    start_mode: Annotated[StartMode, Form()] = StartMode.scheduled,
    window_minutes: Annotated[str, Form()] = "0",
    typed: Annotated[str, Form(max_length=100_000)] = "",
    roster: UploadFile | None = None,
    csrf_token: CsrfField = None,
    lang: LangCookie = None,
) -> Response:
    """A sitting from the form; every problem shown on the form again, nothing made."""
    values = {"scenario": scenario, "starts_at": starts_at, "minutes": minutes, "room": room}
    values |= {"start_mode": start_mode.value, "window_minutes": window_minutes, "typed": typed}
    try:
        csrf.check(request, csrf_token)
        upload = roster if roster and roster.filename else None
        data = await upload.read(MAX_BYTES + 1) if upload else b""  # past the cap: refused
        people = read_roster(data, roster.filename or "") if roster and data else parse_typed(typed)
        sitting = service.create(
            db,
            catalog,
            who.name,
            scenario=scenario,
            starts_at=_moment(starts_at, request),
            candidates=people,
            minutes=_number(minutes),
            room=room,
            start_mode=start_mode,
            window_minutes=_number(window_minutes) or 0,
        )
    except RosterError as exc:
        return _form(request, catalog, lang, 422, values=values, problems=exc.problems)
    except PraxisError as exc:
        return _form(request, catalog, lang, exc.status, values=values, problems=[exc.detail])
    return RedirectResponse(f"/staff/sittings/{sitting.id}", status_code=303)


def _moment(text: str, request: Request) -> datetime:
    """The form's date and time (`2026-12-07T09:00`), in the platform's time zone."""
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date and time") from None
    zone = ZoneInfo(request.app.state.settings.timezone)
    return naive if naive.tzinfo else naive.replace(tzinfo=zone)


def _number(text: str) -> int | None:
    try:
        return int(text) if text.strip() else None
    except ValueError:
        raise Invalid(f"{text!r} is not a number of minutes") from None


@router.get("/staff/sittings/{sitting_id}", response_class=HTMLResponse)
def sitting_page(
    sitting_id: str,
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    _: Examiner,
    lang: LangCookie = None,
    action: Literal["extend", "end", "regrade"] | None = None,
    done: int = 0,
    skipped: int = 0,
) -> HTMLResponse:
    """The sitting; after an action on every candidate (`action`), how many it acted on."""
    sitting = db.get(Sitting, sitting_id)
    if sitting is None:
        raise HTTPException(404, "no such sitting")
    title = titles(catalog, [sitting.scenario], _lang(lang))[sitting.scenario]
    t = texts(_lang(lang))
    said = t[f"{action}_everyone"] if action else ""
    outcome = t["everyone_done"].format(action=said, done=done, skipped=skipped) if said else ""
    return _page(
        request,
        "sitting.html",
        lang,
        sitting=sitting,
        title=title,
        rows_html=_rows_html(request, db, sitting, lang),
        outcome=outcome,
    )


@router.get("/staff/fragments/sittings/{sitting_id}", response_class=HTMLResponse)
def sitting_rows(
    sitting_id: str,
    request: Request,
    db: SessionDep,
    _: ExaminerFragment,
    lang: LangCookie = None,
) -> HTMLResponse:
    """The sitting's table body, polled by htmx: states, clocks, machines, scores."""
    return HTMLResponse(_rows_html(request, db, service.find(db, sitting_id), lang))


def _rows_html(request: Request, db: SessionDep, sitting: Sitting, lang: str | None) -> Markup:
    rows = sitting_table(db, sitting.id, live(request))
    return rows_html(
        "_sitting_row.html",
        rows,
        lambda row: (row.shown(), sitting.state),  # a row with no session shows the sitting's
        lambda row: row.row.left if row.row else None,
        {**words(request, lang), "sitting": sitting},
    )


@router.post("/staff/sittings/{sitting_id}/cancel", response_model=None)
def cancel_sitting(
    sitting_id: str, request: Request, db: SessionDep, _: Examiner, csrf_token: CsrfField = None
) -> Response:
    csrf.check(request, csrf_token)
    service.cancel(db, service.find(db, sitting_id))
    return RedirectResponse(f"/staff/sittings/{sitting_id}", status_code=303)


@router.post("/staff/sittings/{sitting_id}/everyone/{action}", response_model=None)
def act_on_everyone(
    sitting_id: str,
    action: Literal["extend", "end", "regrade"],
    request: Request,
    db: SessionDep,
    who: Examiner,
    minutes: Annotated[int, Form(ge=1, le=240)] = 10,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Extend, end or grade again every candidate's session; the page says how many."""
    csrf.check(request, csrf_token)
    if action == "extend" and len(reason.strip()) < 3:
        raise Invalid("a reason of at least 3 characters is needed to give more time")
    sitting = service.find(db, sitting_id)
    outcome = service.act_on_all(db, sitting, action, who.name, minutes, reason.strip())
    db.commit()
    request.app.state.controller.wake()
    done = sum(not why for why in outcome.values())
    query = f"action={action}&done={done}&skipped={len(outcome) - done}"
    return RedirectResponse(f"/staff/sittings/{sitting_id}?{query}", status_code=303)


@router.post("/staff/sittings/{sitting_id}/reports.zip", response_model=None)
def sitting_reports(
    sitting_id: str,
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    _: Examiner,
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: CsrfField = None,
    lang: LangCookie = None,
) -> Response:
    """The results ZIP from the sitting's page; its password sent in the form's body."""
    csrf.check(request, csrf_token)
    sitting = service.find(db, sitting_id)
    if password and len(password) < 4:
        raise Invalid("a password needs at least 4 characters")
    content = results_zip(db, catalog, sitting, password or None, _lang(lang))
    return download(content, "application/zip", f"praxis-{sitting.id}-rapports.zip")
