"""The pool: labs made ahead, no one's until a session takes one (app.new_session).

What is wanted, per version of a scenario: `settings.pools` ready labs for walk-in sessions,
and one lab per candidate of each sitting within its lead time, reserved for that sitting. The
controller's tick calls `upkeep`: it adds the rows missing (built like any session) and names
the pooled labs no longer wanted — a sitting started or cancelled, a scenario changed since, a
pool made smaller — for the controller to remove. A broken pooled lab is failed and removed by
the controller, and so replaced here; after one failed to build, its kind waits a minute.

A sitting's lead time is measured, not guessed (`lead`): from how fast this host built the
scenario's labs lately.
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
from app.new_session import lab_row
from app.reports.words import as_utc
from app.sittings.service import HAND_OUT_AHEAD, candidates_of

RETRY_AFTER = timedelta(minutes=1)  # after a pooled lab failed to build, its kind waits
PACE_SAMPLE = 30  # builds looked at, the latest: this host as it is now
MAX_LEAD = timedelta(hours=6)  # never more: a sitting planned further ahead is not looked at
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
    for sitting in db.exec(select(Sitting).where(Sitting.state == SittingState.planned)):
        if as_utc(sitting.starts_at) - now > MAX_LEAD:  # a cheap test first: asked every 2 s
            continue
        count = len(candidates_of(db, sitting.id))
        if as_utc(sitting.starts_at) - lead(db, settings, sitting.scenario, count) > now:
            continue
        version = _version(catalog, sitting.scenario)
        if version:
            want[(sitting.scenario, version, sitting.id)] = count
    return want


def lead(db: Session, settings: Settings, scenario_id: str, count: int) -> timedelta:
    """How long before a sitting's start its `count` labs begin to be built: twice the time
    this host would take at the slowest pace it built the scenario's labs lately (a batch's
    labs over the batch's span: parallel builds share the cores), plus a failed build's wait
    and the hand-out's minute. Before any was built here, `settings.sitting_lead_minutes`."""
    built = db.exec(
        select(LabSession.created_at, LabSession.ready_at)
        .where(LabSession.scenario == scenario_id, col(LabSession.ready_at).is_not(None))
        .order_by(col(LabSession.ready_at).desc())
        .limit(PACE_SAMPLE)
    ).all()
    spans = [(as_utc(made), as_utc(ready)) for made, ready in built if ready]
    if not spans:
        return timedelta(minutes=settings.sitting_lead_minutes)
    per_lab = max(_batch_pace(spans))
    return min(MAX_LEAD, 2 * count * per_lab + RETRY_AFTER + HAND_OUT_AHEAD)


def _batch_pace(spans: list[tuple[datetime, datetime]]) -> list[timedelta]:
    """Time per lab of each batch of builds whose times overlapped (a lone build: its time)."""
    batches: list[list[tuple[datetime, datetime]]] = []
    for made, ready in sorted(spans):
        if batches and made <= max(r for _, r in batches[-1]):
            batches[-1].append((made, ready))
        else:
            batches.append([(made, ready)])
    return [(max(r for _, r in batch) - min(m for m, _ in batch)) / len(batch) for batch in batches]


def _version(catalog: Catalog, scenario_id: str) -> str | None:
    """The scenario's version, None when it is broken (nothing is made of it)."""
    try:
        catalog.get(scenario_id)
    except PraxisError:
        return None
    return catalog.version(scenario_id)


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
