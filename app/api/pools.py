"""The pools of labs made ahead (app.pool), for operators: what is wanted, what is there."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app import pool
from app.api.deps import CatalogDep, CurrentUser, SessionDep, SettingsDep
from app.models import Role, State, utcnow

router = APIRouter(prefix="/api/pools", tags=["pools"])


class PoolPublic(BaseModel):
    scenario: str
    version: str
    sitting: str | None  # reserved for this sitting; None: a standing pool for walk-ins
    wanted: int
    ready: list[str]  # the ready pooled labs' ids, newest first
    building: int


@router.get("", response_model=list[PoolPublic])
def pools(
    db: SessionDep, user: CurrentUser, catalog: CatalogDep, settings: SettingsDep
) -> list[PoolPublic]:
    """Every pool wanted now or still holding labs (a scenario changed since, say)."""
    user.require(Role.examiner)
    want, found = pool.wanted(db, catalog, settings, utcnow()), pool.census(db)
    rows = []
    for kind in sorted({*want, *found}, key=str):
        scenario, version, sitting = kind
        labs = found.get(kind, [])
        ready = [lab.id for lab in labs if lab.state is State.ready]
        rows.append(
            PoolPublic(
                scenario=scenario,
                version=version,
                sitting=sitting,
                wanted=want[kind],
                ready=ready,
                building=len(labs) - len(ready),
            )
        )
    return rows
