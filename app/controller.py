"""The session controller: drives every session through its life, from the database.

requested -> provisioning -> ready (clock starts) -> ending -> grading -> graded -> torn_down,
or failed with a reason. A sitting's session is made ahead and its clock starts at the
sitting's time (or at the candidate's first sign-in), while it is already ready. The API
only writes wishes into rows; the controller's loop reads them each tick, writes every
transition before acting on it, and so resumes any session after a restart: running ones
keep their deadline, ended ones are graded exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app import metrics
from app.access import AccessPorts
from app.ahead import Ahead
from app.catalog import Catalog
from app.clock import first_deadline
from app.config import Settings
from app.consoles import ConsoleHub
from app.db import unit_of_work
from app.errors import Conflict
from app.grading import grade_until_complete, grading_job
from app.models import LIVE_STATES, Event, LabSession, Result, RunningLab, State, utcnow
from app.node_watch import NodeWatch
from app.progress import ProgressWatch
from app.replica import Replica
from app.terminals import TerminalHub
from graders.report import GradeReport
from graders.transport import load_key, wait_ready
from labs.driver import Access, HostDown, LabDriver, LabError, ready_probe
from labs.scenario import Scenario

log = logging.getLogger("praxis.controller")
LOOK_SECONDS = 1.0  # how often the running labs are looked at (nodes' watch, live progress)
HOST_RETRY_SECONDS = 5.0  # how often an ending waiting for its lab's host asks again
# Sessions the tick acts on whatever their times: being made, being ended or graded.
BUSY_STATES = (State.requested, State.provisioning, State.ending, State.grading)


class Controller:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        driver: LabDriver,
        catalog: Catalog,
        terminals: TerminalHub | None = None,
        consoles: ConsoleHub | None = None,
    ) -> None:
        self.engine, self.settings, self.driver, self.catalog = engine, settings, driver, catalog
        self.terminals = terminals  # browser terminals, cut with the rest of the access
        self.consoles = consoles  # VMs' serial consoles and screens, cut likewise
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.access = AccessPorts(settings.access_host, settings.access_port_range)
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._spare_id: str | None = None  # the next session's id, its network made ahead
        self._spare_lock = threading.Lock()
        self._background: set[asyncio.Task[None]] = set()
        # Ports are chosen from the committed rows: one lab at a time between reading them and
        # committing its own, or two labs could be given the same port.
        self._assigning_ports = asyncio.Lock()
        self.watch = NodeWatch(self)  # running labs' nodes: incidents, restarts
        self.progress = ProgressWatch(settings, catalog, self.run_in_background, self.load)
        self.ahead = Ahead(self)  # sittings' and pools' labs, sittings' clocks
        self.replica = Replica(self)  # what this process drives among the service's replicas
        self._next_look, self._looking = 0.0, False
        self._waiting: dict[str, float] = {}  # session -> when to ask its lab's host again

    def next_session_id(self) -> str:
        """An id for a new session: the one prepared ahead if any (thread-safe)."""
        with self._spare_lock:
            session_id, self._spare_id = self._spare_id, None
        return session_id or secrets.token_hex(6)

    def _prepare_spare(self) -> None:
        if self._spare_id is not None:
            return
        spare = secrets.token_hex(6)

        async def prepare() -> None:
            try:
                await asyncio.to_thread(self.driver.prepare, spare)
            except LabError as exc:
                log.warning("could not prepare a network ahead: %s", exc)
                return
            with self._spare_lock:
                if self._spare_id is None:
                    self._spare_id = spare
                    return
            await asyncio.to_thread(self.destroy_quietly, spare)  # one spare is enough

        self.run_in_background(prepare())

    def run_in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def wake(self) -> None:
        """Tick now rather than at the next period (thread-safe: API handlers call it)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    # -- the loop -----------------------------------------------------------------------------
    async def reopen_access(self) -> None:
        """After a restart, give running sessions their candidates' ports back (before the
        service says it is up, so nobody finds a closed door)."""
        for lab in self._sessions(State.ready):
            await self.replica.serve(lab.id, lab.nodes)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.reap)
        self._prepare_spare()
        while True:
            try:
                self.tick()
            except Exception:  # the loop must outlive any one bad row or daemon hiccup
                log.exception("controller tick failed")
                metrics.ERRORS.labels("controller").inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.settings.tick_seconds)
            self._wakeup.clear()

    def tick(self) -> None:
        now = utcnow()
        self.replica.tick()
        if self.replica.leading:
            self.ahead.start_sittings(now)
            self.ahead.keep_pools(now)
        self._look_at_running()
        for lab in self._due(now):
            if lab.id in self.tasks or lab.id in self.replica.elsewhere:
                continue
            if self._waiting.get(lab.id, 0.0) > time.monotonic():  # its lab's host is away
                continue
            if lab.state in (State.requested, State.provisioning):
                self._spawn(lab.id, self._provision)
            elif lab.state is State.ready and lab.deadline is None and not lab.pooled:
                self.ahead.start_clock(lab, now)
            elif lab.state is State.ready and lab.deadline and lab.deadline <= now:
                self._spawn(lab.id, self._time_up)
            elif lab.state in (State.ending, State.grading):
                self._spawn(lab.id, self._end)
            elif lab.state is State.graded and lab.teardown_after and lab.teardown_after <= now:
                self._spawn(lab.id, self._teardown)

    async def stop(self) -> None:
        for task in [*self.tasks.values(), *self._background]:
            task.cancel()
        if self._spare_id is not None:
            await asyncio.to_thread(self.destroy_quietly, self._spare_id)
        await self.access.close_all()
        await asyncio.to_thread(self.replica.release_all)

    def _spawn(self, session_id: str, work: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.create_task(self.replica.drive(session_id, work))
        self.tasks[session_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(session_id, None))

    def _look_at_running(self) -> None:
        """The nodes' watch and live progress look at the running labs once a second, read off
        the loop: 200 of them take ~10 ms to load, which every request waited for at each tick."""
        if self._looking or time.monotonic() < self._next_look:
            return
        self._next_look, self._looking = time.monotonic() + LOOK_SECONDS, True

        async def look() -> None:
            try:
                labs = [
                    lab
                    for lab in await asyncio.to_thread(self._running)
                    if lab.id in self.replica.serving  # the others' are watched where they are
                ]
                self.watch.check(labs)
                self.progress.check(labs)
            except Exception:  # as the tick: the next look comes a second later
                log.exception("looking at the running labs failed")
            finally:
                self._looking = False

        self.run_in_background(look())

    # -- database -----------------------------------------------------------------------------
    def _due(self, now: datetime) -> list[LabSession]:
        """The sessions the tick acts on (a superset): in the middle of an exam, none, where
        loading every live one took the loop ~10 ms per 200, four times a second."""
        ready, deadline = col(LabSession.state) == State.ready, col(LabSession.deadline)
        due = (
            col(LabSession.state).in_(BUSY_STATES)
            | (ready & ~col(LabSession.pooled) & deadline.is_(None))
            | (ready & (deadline <= now))
            | ((col(LabSession.state) == State.graded) & (col(LabSession.teardown_after) <= now))
        )
        with unit_of_work(self.engine) as db:
            return list(db.exec(select(LabSession).where(due)))

    def _running(self) -> list[RunningLab]:
        columns = [getattr(LabSession, field.name) for field in fields(RunningLab)]
        with unit_of_work(self.engine) as db:
            ready = db.execute(select(*columns).where(col(LabSession.state) == State.ready))
            return [RunningLab(*values) for values in ready]

    def _sessions(self, *states: State) -> list[LabSession]:
        with unit_of_work(self.engine) as db:
            return list(db.exec(select(LabSession).where(col(LabSession.state).in_(states))))

    def load(self, session_id: str) -> LabSession:
        with unit_of_work(self.engine) as db:
            lab = db.get(LabSession, session_id)
            assert lab is not None
            return lab

    def transition(
        self,
        session_id: str,
        state: State,
        detail: str = "",
        expect: set[State] | None = None,
        **fields: Any,
    ) -> bool:
        """Persist a state change (and fields) with its event; False if the row moved on."""
        with unit_of_work(self.engine) as db:  # the row locked: replicas change it one at a time
            lab = db.get(LabSession, session_id, with_for_update=True)
            if lab is None or (expect is not None and lab.state not in expect):
                return False
            lab.state = state
            for name, value in fields.items():
                setattr(lab, name, value)
            db.add(lab)
            db.add(Event(session_id=session_id, state=state, detail=detail))
        log.info("session %s -> %s %s", session_id, state.value, detail)
        return True

    async def _transition(self, *args: Any, **fields: Any) -> bool:
        """`transition` from the event loop: a commit waits for the disk (fsync), which a busy
        host can make take a tenth of a second; the loop keeps answering meanwhile."""
        return await asyncio.to_thread(self.transition, *args, **fields)

    # -- provisioning -------------------------------------------------------------------------
    async def _provision(self, session_id: str) -> None:
        lab = await asyncio.to_thread(self.load, session_id)
        if lab.state is State.requested:
            await self._transition(session_id, State.provisioning, expect={State.requested})
        start = time.monotonic()
        try:
            scenario = self.catalog.get(lab.scenario)
            nodes = await asyncio.to_thread(self.driver.create, session_id, scenario, _access(lab))
            created = time.monotonic() - start
            key = load_key(lab.grader_key)
            timeout = self.settings.ready_timeout
            await asyncio.gather(
                *(
                    asyncio.to_thread(
                        wait_ready, n.address, key, timeout, "root", ready_probe(kind)
                    )
                    for n, kind in ((n, scenario.nodes[name].kind) for name, n in nodes.items())
                )
            )
        except Exception as exc:  # LabError, NodeUnreachable, an invalid scenario: all end the same
            metrics.ERRORS.labels("provisioning").inc()
            await self._transition(
                session_id,
                State.failed,
                f"provisioning failed: {exc}",
                {State.provisioning},
                reason=f"provisioning failed: {exc}",
            )
            await asyncio.to_thread(self.destroy_quietly, session_id)
            return
        ready = utcnow()
        node_rows = {n.name: {"address": n.address, "ref": n.ref} for n in nodes.values()}
        async with self._assigning_ports:
            live = await asyncio.to_thread(self._sessions, *LIVE_STATES)
            taken = {n.get("port") for lab in live for n in lab.nodes.values()}
            self.access.assign(node_rows, taken - {None})
            made_ready = await self._transition(
                session_id,
                State.ready,
                f"lab ready in {time.monotonic() - start:.2f}s (nodes started in {created:.2f}s)",
                {State.provisioning},
                ready_at=ready,
                deadline=first_deadline(lab, ready, scenario),
                nodes=node_rows,
            )
        if made_ready:
            metrics.PROVISIONING.labels(lab.scenario).observe(time.monotonic() - start)
            if not lab.pooled:  # a pooled lab's wait is its hand-out's (app.new_session)
                metrics.READY.labels(lab.scenario).observe((ready - lab.created_at).total_seconds())
            await self.replica.serve(session_id, node_rows)
            self._prepare_spare()  # now, not while this lab was being made: they would compete
        else:  # ended by an examiner while it was being built
            await asyncio.to_thread(self.destroy_quietly, session_id)

    async def _close_access(self, session_id: str) -> None:
        await self.replica.unserve(session_id)
        if self.terminals is not None:
            await self.terminals.close_session(session_id)
        if self.consoles is not None:
            await self.consoles.close_session(session_id)

    # -- the end: cut access, grade the frozen lab --------------------------------------------
    async def _time_up(self, session_id: str) -> None:
        lab = await asyncio.to_thread(self.load, session_id)
        if lab.deadline is None or lab.deadline > utcnow():  # given more time since the tick
            return
        ended = {"reason": "time is up", "ended_at": lab.deadline}
        if await self._transition(session_id, State.ending, "time is up", {State.ready}, **ended):
            await self._end(session_id)

    async def _end(self, session_id: str) -> None:
        start = time.monotonic()
        await self._close_access(session_id)
        lab = await asyncio.to_thread(self.load, session_id)
        first = lab.state is State.ending  # not a regrade, nor a grading taken up after a restart
        try:
            scenario = self.catalog.get(lab.scenario)
            if lab.state is State.ending:  # not yet frozen (a regrade starts at `grading`)
                await self._freeze(lab, scenario)
                lab = await asyncio.to_thread(self.load, session_id)
            report = await asyncio.to_thread(self._grade, lab, scenario)
        except HostDown as exc:  # the lab is intact, out of reach: frozen and graded on its return
            if session_id not in self._waiting:
                await asyncio.to_thread(self._note, session_id, f"{exc}: graded when it is back")
            self._waiting[session_id] = time.monotonic() + HOST_RETRY_SECONDS
            return
        except Exception as exc:  # the scenario vanished or broke mid-exam: say so, keep the lab
            log.exception("session %s: grading failed", session_id)
            metrics.ERRORS.labels("grading").inc()
            await self._transition(
                session_id,
                State.failed,
                f"grading failed: {exc}",
                {State.ending, State.grading},
                reason=f"grading failed: {exc}",
            )
            return
        stored = await asyncio.to_thread(self._store, session_id, report)
        if stored and first:
            metrics.GRADING.labels(lab.scenario).observe(time.monotonic() - start)

    async def _freeze(self, lab: LabSession, scenario: Scenario) -> None:
        restart = scenario.grading.restart
        nodes = await asyncio.to_thread(self.driver.freeze, lab.id, _access(lab), restart)
        rows = {
            name: {
                **row,
                "address": nodes[name].address or row["address"],
                **({"disk": nodes[name].disk} if nodes[name].disk else {}),
            }
            for name, row in lab.nodes.items()
            if name in nodes
        }
        detail = "candidate access cut" + (", lab restarted" if restart else ", processes ended")
        await self._transition(
            lab.id, State.grading, detail, {State.ending}, nodes={**lab.nodes, **rows}
        )

    def _grade(self, lab: LabSession, scenario: Scenario) -> GradeReport:
        def retrying(report: GradeReport, attempt: int) -> None:
            metrics.ERRORS.labels("grading_incomplete").inc()
            errors = sum(c.status == "error" for c in report.criteria)
            self._note(
                lab.id,
                f"grading incomplete ({errors} criteria could not be graded): "
                f"grading again in {self.settings.grading_retry_seconds:g}s",
            )

        job = grading_job(
            self.settings, scenario, lab.nodes, lab.params, lab.grader_key, lab.docker_url
        )
        return grade_until_complete(job, self.settings, retrying)

    def _note(self, session_id: str, detail: str) -> None:
        """An event in the session's history, without a change of state."""
        with unit_of_work(self.engine) as db:
            lab = db.get(LabSession, session_id)
            if lab is not None:
                db.add(Event(session_id=session_id, state=lab.state, detail=detail))

    def _store(self, session_id: str, report: GradeReport) -> bool:
        """Write the grade and move to `graded`, exactly once; False if it was not this one."""
        with unit_of_work(self.engine) as db:
            row = db.get(LabSession, session_id, with_for_update=True)
            if (
                row is None
                or row.state is not State.grading
                or db.get(Result, session_id) is not None
            ):
                return False
            now = utcnow()
            db.add(
                Result(
                    session_id=session_id,
                    score=report.percent,
                    points=report.points,
                    max_points=report.max_points,
                    report=report.as_dict(),
                )
            )
            row.state, row.graded_at = State.graded, now
            row.teardown_after = now + timedelta(seconds=self.settings.retention_seconds)
            db.add(row)
            detail = f"score {report.percent}%"
            if not report.complete:
                errors = sum(c.status == "error" for c in report.criteria)
                detail += f", incomplete: {errors} criteria could not be graded (review needed)"
            if report.tampered:
                detail += ", tampering found on " + ", ".join(n.node for n in report.tampered)
            db.add(Event(session_id=session_id, state=State.graded, detail=detail))
        log.info("session %s graded: %s%%", session_id, report.percent)
        return True

    # -- cleaning up --------------------------------------------------------------------------
    async def _teardown(self, session_id: str) -> None:
        await asyncio.to_thread(self.destroy_quietly, session_id)
        await self._transition(session_id, State.torn_down, "lab removed", {State.graded})

    def destroy_quietly(self, session_id: str) -> None:
        try:
            self.driver.destroy(session_id)
        except LabError as exc:
            log.error("session %s: teardown failed (the reaper will retry): %s", session_id, exc)

    def reap(self, only: str | None = None) -> set[str]:
        """Remove lab objects that no live session owns (of session `only`, if given).
        Returns the session ids reaped. Raises Conflict when `only` is a live session's."""
        live = {lab.id for lab in self._sessions(*LIVE_STATES)}
        if only in live:
            raise Conflict(f"session {only} is live: end it (its lab goes when it is graded)")
        orphans = self.driver.sessions() - live
        if only is not None:
            orphans &= {only}
        for session_id in orphans:
            self.destroy_quietly(session_id)
        return orphans


def _access(lab: LabSession) -> Access:
    key = load_key(lab.grader_key)
    public = f"{key.get_name()} {key.get_base64()} praxis-grader"
    return Access(public, lab.candidate_user, lab.candidate_password)
