"""Typed dependencies every route declares: the DB unit of work, the caller, the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Cookie, Depends, Header, Request
from sqlmodel import Session

from app import csrf
from app.auth import Principal, authenticate
from app.catalog import Catalog
from app.config import Settings
from app.db import unit_of_work
from app.errors import NotFound
from app.models import LabSession


def get_db(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.engine) as db:
        yield db


# "function": commit before the response leaves, so that whatever the client does next (follow
# a redirect with a new cookie, poll the new session) sees what this request wrote.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


COOKIE = csrf.COOKIE


def get_principal(
    request: Request,
    db: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    praxis: Annotated[str | None, Cookie()] = None,
    x_csrf_token: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    who = authenticate(db, authorization, praxis)
    bearer = (authorization or "").lower().startswith("bearer ")
    if request.method not in csrf.SAFE_METHODS and not bearer:
        csrf.check(request, x_csrf_token)  # the browser's cookie did the signing in
    return who


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CurrentUser = Annotated[Principal, Depends(get_principal)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def find_lab(db: Session, session_id: str) -> LabSession:
    """The session, or NotFound (404) naming it; a pooled lab is no one's session yet."""
    lab = db.get(LabSession, session_id)
    if lab is None or lab.pooled:
        raise NotFound(f"no session {session_id!r}")
    return lab
