"""A session's clock: when it ends, when it starts for a sitting's session, what is left."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from app.models import LabSession, State, utcnow
from app.reports.words import as_utc
from labs.scenario import Scenario


def clock_end(lab: LabSession, start: datetime, scenario: Scenario | None = None) -> datetime:
    """When the time allowed runs out for a clock started at `start`: the sitting's minutes, or
    the scenario's duration."""
    if lab.minutes:
        return start + timedelta(minutes=lab.minutes)
    assert scenario is not None, "a session without its own minutes takes its scenario's"
    return start + scenario.time_allowed


def first_deadline(lab: LabSession, ready: datetime, scenario: Scenario) -> datetime | None:
    """The deadline when the lab becomes ready: its clock starts then, or, for a sitting's
    session, at the sitting's time (None until then: the tick starts it); a pooled lab's, when
    it is handed out (None until then)."""
    if lab.pooled:
        return None
    if lab.sitting_id is None:
        return clock_end(lab, ready, scenario)
    if lab.starts_at is None or as_utc(lab.starts_at) > ready:
        return None
    return clock_end(lab, max(ready, as_utc(lab.starts_at)), scenario)


class Clocked(Protocol):
    """A session as its clock needs it: a LabSession, or a staff table's summary of one."""

    @property
    def state(self) -> State: ...

    @property
    def deadline(self) -> datetime | None: ...


def seconds_left(lab: Clocked, now: datetime | None = None) -> float | None:
    """Time left on a running session's clock at `now` (default: now); None when no clock
    runs."""
    if lab.state is not State.ready or lab.deadline is None:
        return None
    return max(0.0, (lab.deadline - (now or utcnow())).total_seconds())
