"""The pool: labs made ahead, no one's until a session takes one (app.new_session).

What is wanted, per version of a scenario: `settings.pools` ready labs for walk-in sessions,
and one lab per candidate of each sitting within its lead time, reserved for that sitting. The
controller's tick calls `upkeep`: it adds the rows missing (built like any session) and names
the pooled labs no longer wanted — a sitting started or cancelled, a scenario changed since, a
pool made smaller — for the controller to remove. A broken pooled lab is failed and removed by
the controller, and so replaced here; after one failed to build, its kind waits a minute.

Only labs whose nodes are all containers are pooled (app.new_session.poolable): a sitting of
VMs has its sessions made at the lead time instead (app.sittings.service.due).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.catalog import Catalog
from app.config import Settings
from app.errors import PraxisError
from app.models import Event, LabSession, Sitting, SittingState, State
from app.new_session import lab_row, poolable
from app.reports.words import as_utc
from app.sittings.service import candidates_of

RETRY_AFTER = timedelta(minutes=1)
Kind = tuple[str, str, str | None]  # scenario, its version, the sitting it is reserved for


@dataclass
class Upkeep:
    made: list[str] = field(default_factory=list)  # new pooled sessions, `requested`
    unwanted: list[str] = field(default_factory=list)  # ready pooled labs to remove


def wanted(db: Session, catalog: Catalog, settings: Settings, now: datetime) -> Counter[Kind]:
    """How many pooled labs of each kind should exist now."""
    want: Counter[Kind] = Counter()
    for scenario_id, count in settings.pools.items():
        version = _version(catalog, scenario_id)
        if version:
            want[(scenario_id, version, None)] = count
    lead = timedelta(minutes=settings.sitting_lead_minutes)
    for sitting in db.exec(select(Sitting).where(Sitting.state == SittingState.planned)):
        if as_utc(sitting.starts_at) - lead > now:
            continue
        version = _version(catalog, sitting.scenario)
        if version:
            want[(sitting.scenario, version, sitting.id)] = len(candidates_of(db, sitting.id))
    return want


def _version(catalog: Catalog, scenario_id: str) -> str | None:
    """The scenario's version when it can be pooled (valid, containers only), else None."""
    try:
        scenario = catalog.get(scenario_id)
    except PraxisError:
        return None
    return catalog.version(scenario_id) if poolable(scenario) else None


def kind_of(lab: LabSession) -> Kind:
    return (lab.scenario, lab.scenario_version, lab.sitting_id)


def census(db: Session) -> dict[Kind, list[LabSession]]:
    """The pooled labs being built or ready, by kind, newest first."""
    building = [State.requested, State.provisioning, State.ready]
    live = db.exec(
        select(LabSession)
        .where(col(LabSession.pooled), col(LabSession.state).in_(building))
        .order_by(col(LabSession.created_at).desc())
    )
    found: dict[Kind, list[LabSession]] = defaultdict(list)
    for lab in live:
        found[kind_of(lab)].append(lab)
    return found


def upkeep(
    db: Session, catalog: Catalog, settings: Settings, now: datetime, next_id: Callable[[], str]
) -> Upkeep:
    """Add the pooled labs missing, name those no longer wanted (ready ones only, newest first:
    one being built is judged once it is ready)."""
    want, done = wanted(db, catalog, settings, now), Upkeep()
    found, failing = census(db), _failed_lately(db, now)
    for kind, labs in found.items():
        surplus = len(labs) - want[kind]
        done.unwanted += [lab.id for lab in labs if lab.state is State.ready][: max(0, surplus)]
    for kind, count in want.items():
        if kind in failing:
            continue
        scenario_id, _, sitting_id = kind
        for _ in range(count - len(found.get(kind, []))):
            lab = pooled_lab(db, next_id(), catalog, settings, scenario_id, sitting_id)
            done.made.append(lab.id)
    return done


def _failed_lately(db: Session, now: datetime) -> set[Kind]:
    since = now - RETRY_AFTER
    failed = db.exec(
        select(LabSession).where(
            LabSession.state == State.failed,
            LabSession.created_by == "pool",
            col(LabSession.reason).startswith("provisioning failed"),
            col(LabSession.created_at) >= since,
        )
    )
    return {(lab.scenario, lab.scenario_version, lab.sitting_id) for lab in failed}


def pooled_lab(
    db: Session,
    session_id: str,
    catalog: Catalog,
    settings: Settings,
    scenario_id: str,
    sitting_id: str | None,
) -> LabSession:
    """A `requested` lab for the pool (reserved for `sitting_id`, if any)."""
    scenario = catalog.get(scenario_id)
    lab = lab_row(session_id, scenario, catalog.version(scenario_id), settings)
    lab.pooled, lab.created_by, lab.sitting_id = True, "pool", sitting_id
    db.add(lab)
    db.flush()  # the row before its first event (foreign key)
    reserved = f" for sitting {sitting_id}" if sitting_id else ""
    db.add(Event(session_id=lab.id, state=State.requested, detail=f"made ahead{reserved}"))
    return lab
