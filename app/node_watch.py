"""The watch over running labs' nodes: a node found down opens an incident (and cuts its dead
connections), a node back up closes it; the examiner's restart starts it again, disk kept.

Part of the controller's loop: one engine call for every lab each time the controller looks at
the running labs (app.controller.LOOK_SECONDS). The staff pages show its last answer while it is
fresh (`node_states`), instead of asking the engine at each poll of each examiner.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import metrics
from app.backends import states_within
from app.db import unit_of_work
from app.incidents import open_incidents, record_down, record_up
from app.models import Incident, LabSession, RunningLab, State, utcnow
from graders.transport import load_key, wait_ready

if TYPE_CHECKING:
    from app.controller import Controller

log = logging.getLogger("praxis.watch")
FRESH_SECONDS = 2.0  # how old an answer the pages may show: their poll period
_NEVER = datetime.min.replace(tzinfo=UTC)


class NodeWatch:
    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self.restarting: set[tuple[str, str]] = set()  # (session, node) being started
        self._checking = False  # one look at the engine at a time
        # The last look: when (monotonic; by the wall clock, when the question was put), what.
        self._seen: tuple[float, datetime, dict[str, dict[str, str]]] = (-math.inf, _NEVER, {})
        self._asking = threading.Lock()  # one page at a time asks the engines

    def node_states(self) -> dict[str, dict[str, str]]:
        """Session -> node -> state, for a page (thread-safe): the last answer if under
        FRESH_SECONDS old (the watch asks each second while a lab runs), else the engine's
        now; none past STATE_WAIT."""
        return self._look()[1]

    def states_of(self, session_id: str, since: datetime) -> dict[str, str] | None:
        """One session's node states as last seen, if seen after `since` (its nodes were all
        up then: a look taken while they were still being made says nothing of them now)."""
        asked_at, states = self._look()
        known = states.get(session_id)
        return known if known is not None and asked_at > since else None

    def _look(self) -> tuple[datetime, dict[str, dict[str, str]]]:
        at, asked_at, states = self._seen
        if time.monotonic() - at <= FRESH_SECONDS:
            return asked_at, states
        if not self._asking.acquire(blocking=False):  # another request asks: the last answer
            return asked_at, states
        try:
            asked_at = utcnow()
            asked = states_within(self.c.driver.all_node_states, None)
        finally:
            self._asking.release()
        if asked is None:
            return _NEVER, {}
        self._seen = (time.monotonic(), asked_at, asked)
        return asked_at, asked

    def check(self, labs: list[RunningLab]) -> None:
        """Compare every running lab's nodes with the engine's view, in the background: the
        loop must not wait on the engine (from the loop, each second)."""
        ready = [lab for lab in labs if lab.state is State.ready and lab.id not in self.c.tasks]
        if not ready or self._checking:
            return
        self._checking = True
        self._background(self._check(ready))

    async def _check(self, ready: list[RunningLab]) -> None:
        try:
            asked_at = utcnow()
            states = await asyncio.to_thread(self.c.driver.all_node_states)
            self._seen = (time.monotonic(), asked_at, states)
            with unit_of_work(self.c.engine) as db:
                down = {(i.session_id, i.node) for i in open_incidents(db)}
            for lab in ready:
                seen = states.get(lab.id)
                if seen is None:  # the engine did not answer, or knows nothing of it: no verdict
                    continue
                for node in lab.nodes:
                    key = (lab.id, node)
                    if key in self.restarting:
                        continue
                    running = seen.get(node) == "running"
                    if not running and lab.pooled:  # no one's yet: replaced, not an incident
                        why = f"pooled lab broken before hand-out: node {node} {seen.get(node)}"
                        self._background(self.c.ahead.retire(lab.id, why, broken=True))
                        break
                    if not running and key not in down:
                        await self._down(lab, node)
                    elif running and key in down:  # started again from outside the platform
                        self.restarting.add(key)
                        self._background(self._bring_back(*key, restart=False, how="by itself"))
        finally:
            self._checking = False

    async def _down(self, lab: RunningLab, node: str) -> None:
        cause = await asyncio.to_thread(self.c.driver.node_cause, lab.id, node)
        opened = await asyncio.to_thread(self._record_down, lab.id, node, cause)
        if opened is not None:
            log.warning("session %s: node %s down (%s)", lab.id, node, cause)
            metrics.ERRORS.labels("node_down").inc()
            await self._cut(lab, node)

    def _record_down(self, session_id: str, node: str, cause: str) -> Incident | None:
        with unit_of_work(self.c.engine) as db:
            row = db.get(LabSession, session_id)  # still running? The end stops nodes on purpose
            return record_down(db, row, node, cause) if row and row.state is State.ready else None

    async def _cut(self, lab: RunningLab, node: str) -> None:
        """A dead node's connections may hang instead of failing: cut them, so the candidate's
        terminal says the node is down instead of freezing."""
        await self.c.access.close_node(lab.id, node)
        if self.c.terminals is not None:
            await self.c.terminals.close_node(lab.id, node)

    def restart(self, session_id: str, node: str) -> bool:
        """Start the node again in the background (thread-safe); False if already under way."""
        if (session_id, node) in self.restarting or self.c._loop is None:
            return False
        self.restarting.add((session_id, node))
        work = self._bring_back(session_id, node, restart=True, how="restarted by the examiner")
        self.c._loop.call_soon_threadsafe(self._background, work)
        return True

    async def _bring_back(self, session_id: str, node: str, restart: bool, how: str) -> None:
        """Start the node (marked in `restarting` by the caller), then close its incident."""
        try:
            info = await asyncio.to_thread(self.c.driver.start_node, session_id, node, restart)
            lab = await asyncio.to_thread(self.c.load, session_id)
            key = load_key(lab.grader_key)
            await asyncio.to_thread(wait_ready, info.address, key, self.c.settings.ready_timeout)
        # LabError, NodeUnreachable, a vanished row: the incident stays open, and says why.
        except Exception as exc:
            log.error("session %s: node %s did not come back: %s", session_id, node, exc)
            why = f"incident: node {node} did not come back: {exc}"
            await asyncio.to_thread(self.c._note, session_id, why)
            return
        finally:
            self.restarting.discard((session_id, node))
        row = await asyncio.to_thread(self._record_up, session_id, node, info.address, how)
        if row is None:
            return
        # The dead shell was dropped when the node was found down (_cut): the browser's next
        # connection opens a new one; closing here could cut one that already works. Another
        # replica's door (an examiner's restart asked here) follows the row (app.replica).
        if session_id in self.c.replica.serving:
            await self.c.access.open_node(session_id, node, row.nodes[node])

    def _record_up(self, session_id: str, node: str, address: str, how: str) -> LabSession | None:
        with unit_of_work(self.c.engine) as db:
            row = db.get(LabSession, session_id)
            if row is None or row.state is not State.ready:
                return None
            row.nodes = {**row.nodes, node: {**row.nodes[node], "address": address}}
            db.add(row)
            record_up(db, row, node, how)
            return row

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.c._background.add(task)
        task.add_done_callback(self.c._background.discard)
