"""Labs made ahead of the exam's clock, for the controller's loop: a sitting's sessions made at
its time (from the labs reserved for it), the standing pools kept full, a pooled lab removed,
and the clock of a sitting's ready session started at the sitting's time (or the session ended
unstarted when its sign-in window closes)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col

from app import metrics, pool
from app.clock import clock_end
from app.db import unit_of_work
from app.models import Event, LabSession, State
from app.reports.words import as_utc
from app.sittings import service as sittings

if TYPE_CHECKING:
    from app.controller import Controller

log = logging.getLogger("praxis.controller")
POOL_LOOK_SECONDS = 2.0  # how often the pools are compared with what is wanted
SITTING_RETRY_SECONDS = 60.0  # a sitting that could not start is tried again after this


class Ahead:
    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self._sitting_retry: dict[str, float] = {}  # sitting -> when to try starting it again
        self._window_closes: dict[str, datetime] = {}  # started sitting -> its sign-in's end
        self._next_pool_look = 0.0

    # -- sittings -----------------------------------------------------------------------------
    def start_sittings(self, now: datetime) -> None:
        """Make the sessions of the sittings that are due, off the loop (one transaction with
        a commit each). One that cannot start is tried again a minute later."""
        with unit_of_work(self.c.engine) as db:
            ids = [s.id for s in sittings.due(db, now)]
        for sitting_id in ids:
            if self._sitting_retry.get(sitting_id, 0.0) > time.monotonic():
                continue
            self._sitting_retry[sitting_id] = time.monotonic() + SITTING_RETRY_SECONDS
            self.c.run_in_background(asyncio.to_thread(self._start_sitting, sitting_id))

    def _start_sitting(self, sitting_id: str) -> None:
        c = self.c
        try:
            with unit_of_work(c.engine) as db:
                sitting = sittings.find(db, sitting_id)
                made = len(sittings.start(db, c.catalog, c.settings, sitting, c.next_session_id))
            c.wake()  # the labs not from the pool are built now
            log.info("sitting %s started: %d sessions made", sitting_id, made)
        except Exception:  # it stays planned, said in the log
            log.exception("sitting %s could not start; trying again in a minute", sitting_id)

    def start_clock(self, lab: LabSession, now: datetime) -> None:
        """A ready sitting's session whose clock has not run: it starts once its start time has
        come, or ends unstarted when its window closed without a sign-in."""
        if lab.starts_at is not None and as_utc(lab.starts_at) <= now and lab.ready_at:
            deadline = clock_end(lab, max(as_utc(lab.starts_at), as_utc(lab.ready_at)))
            self.c.transition(
                lab.id, State.ready, "the clock starts", {State.ready}, deadline=deadline
            )
        elif lab.starts_at is None and lab.sitting_id and now > self._window_close(lab.sitting_id):
            reason = "not started: no sign-in within the window"
            self.c.transition(
                lab.id, State.ending, reason, {State.ready}, reason=reason, ended_at=now
            )

    def _window_close(self, sitting_id: str) -> datetime:
        """When a started sitting's first sign-ins end: read once, it changes no more."""
        if sitting_id not in self._window_closes:
            with unit_of_work(self.c.engine) as db:
                sitting = sittings.find(db, sitting_id)
            opens = as_utc(sitting.starts_at)
            self._window_closes[sitting_id] = opens + timedelta(minutes=sitting.window_minutes)
        return self._window_closes[sitting_id]

    # -- pools --------------------------------------------------------------------------------
    def keep_pools(self, now: datetime) -> None:
        """Labs made ahead (app.pool): the missing ones requested, the unwanted removed."""
        if time.monotonic() < self._next_pool_look:
            return
        self._next_pool_look = time.monotonic() + POOL_LOOK_SECONDS
        c = self.c
        with unit_of_work(c.engine) as db:
            done = pool.upkeep(db, c.catalog, c.settings, now, c.next_session_id)
        for session_id in done.unwanted:
            c.run_in_background(self.retire(session_id, "pooled lab no longer wanted"))

    async def retire(self, session_id: str, why: str, broken: bool = False) -> None:
        """Remove a pooled lab (`failed` if `broken`, else `torn_down`), unless a hand-out
        took it first: both change the same row only while it is pooled and ready."""
        if await asyncio.to_thread(self._unpool, session_id, why, broken):
            if broken:
                metrics.ERRORS.labels("pooled_broken").inc()
            await self.c.replica.unserve(session_id)
            await asyncio.to_thread(self.c.destroy_quietly, session_id)

    def _unpool(self, session_id: str, why: str, broken: bool) -> bool:
        state = State.failed if broken else State.torn_down
        with unit_of_work(self.c.engine) as db:
            ready_in_pool = (col(LabSession.id) == session_id, col(LabSession.pooled))
            taken = update(LabSession).where(*ready_in_pool, col(LabSession.state) == State.ready)
            if db.exec(taken.values(state=state, reason=why)).rowcount != 1:
                return False
            db.add(Event(session_id=session_id, state=state, detail=why))
        log.info("session %s (pooled) -> %s %s", session_id, state.value, why)
        return True
