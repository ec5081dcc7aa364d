"""The examiners' history of every session (the dashboard shows live ones only) and the audit
log, filterable by session."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from app.api.deps import CatalogDep, SessionDep
from app.models import AuditEntry, State
from app.web.deps import Examiner
from app.web.listing import PAGE_SIZE, SORTS, HistoryQuery, history, scenario_ids, scores, titles
from app.web.pages import LangCookie, _lang, _page

router = APIRouter(include_in_schema=False)
DAY = r"^(\d{4}-\d{2}-\d{2})?$"
STATES = "|".join(s.value for s in State)
Page = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/staff/history", response_class=HTMLResponse, response_model=None)
def history_page(
    request: Request,
    db: SessionDep,
    catalog: CatalogDep,
    _: Examiner,
    q: Annotated[str, Query(max_length=200)] = "",
    scenario: Annotated[str, Query(max_length=200)] = "",
    state: Annotated[str, Query(pattern=f"^({STATES})?$")] = "",
    since: Annotated[str, Query(pattern=DAY)] = "",
    until: Annotated[str, Query(pattern=DAY)] = "",
    sort: Annotated[str, Query(pattern=f"^({'|'.join(SORTS)})$")] = "start",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page: Page = 1,
    lang: LangCookie = None,
) -> Response:
    query = HistoryQuery(q.strip(), scenario, state, since, until, sort, order, page)
    labs, total = history(db, query, ZoneInfo(request.app.state.settings.timezone))
    subjects = scenario_ids(db)
    terminals = request.app.state.terminals
    filters = {k: v for k, v in vars(query).items() if v and k not in ("sort", "order", "page")}

    def link(**change: str | int) -> str:
        """This page's address with the same filters and `change` applied."""
        return "?" + urlencode({**filters, "sort": sort, "order": order, **change})

    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:  # past the end (an old link, a typed number): the last page
        return RedirectResponse(link(page=pages), status_code=303)
    return _page(
        request,
        "history.html",
        lang,
        query=query,
        labs=labs,
        total=total,
        pages=pages,
        scores=scores(db, [lab.id for lab in labs]),
        titles=titles(catalog, subjects, _lang(lang)),
        subjects=subjects,
        states=list(State),
        recordings={lab.id: terminals.recorded_nodes(lab.id) for lab in labs},
        link=link,
        export=urlencode({"lang": _lang(lang), **({"scenario": scenario} if scenario else {})}),
    )


@router.get("/staff/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    request: Request,
    db: SessionDep,
    _: Examiner,
    session: Annotated[str, Query(max_length=200)] = "",
    page: Page = 1,
    lang: LangCookie = None,
) -> Response:
    """Newest first; one session's entries with `?session=`."""
    where = [col(AuditEntry.session_id) == session] if session else []
    total = db.exec(select(func.count()).select_from(AuditEntry).where(*where)).one()
    pages = max(1, -(-int(total) // PAGE_SIZE))
    if page > pages:
        return RedirectResponse("?" + urlencode({"session": session, "page": pages}), 303)
    entries = db.exec(
        select(AuditEntry)
        .where(*where)
        .order_by(col(AuditEntry.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return _page(
        request,
        "audit.html",
        lang,
        entries=entries,
        session=session,
        page=page,
        pages=pages,
    )
