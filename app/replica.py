"""This service process among others on one database (app.leases).

- **A session's work** (building its lab, its end, its teardown) is done by the replica that
  claims the session's lease, held while the work runs and renewed; a replica killed mid-way
  loses it after TERM, and another takes the work up (each step is idempotent, and every state
  change is guarded).
- **A running lab's home**: the replica that holds its `access:` lease opens the candidates'
  SSH ports and watches its nodes and live progress; another takes that over once it lapses.
- **Duties done once** (sittings' clocks, pools): by the replica holding the `duty` lease.

One replica holds everything; a restarted one finds its leases again: its holder name is its
data folder's, which one live process at a time can hold (app.service_lock).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from app.db import unit_of_work
from app.leases import Leases
from app.models import LabSession, State, utcnow

if TYPE_CHECKING:
    from app.controller import Controller

log = logging.getLogger("praxis.replica")
DUTY = "duty"  # sittings' clocks and pools
ACCESS = "access:"  # + a session id: its candidates' ports, nodes' watch and live progress
REFRESH_SECONDS = 2.0  # leases renewed, lapsed ones looked for, access handed over


def holder_name(data_dir: Path) -> str:
    return f"{socket.gethostname()}:{data_dir.resolve()}"


class Replica:
    def __init__(self, c: Controller) -> None:
        self.c = c
        self.leases = Leases(c.engine, holder_name(c.settings.data_dir))
        self.leading = False  # holds DUTY
        self.serving: set[str] = set()  # ready sessions whose access this replica holds
        self.elsewhere: set[str] = set()  # sessions whose work another live replica holds
        self._next, self._refreshing = 0.0, False

    # -- a session's work -------------------------------------------------------------------
    def drive(
        self, session_id: str, work: Callable[[str], Coroutine[Any, Any, None]]
    ) -> Coroutine[Any, Any, None]:
        """`work` for the session, if this replica wins its lease (released when done)."""

        async def claimed() -> None:
            if not await asyncio.to_thread(self.leases.claim, session_id):
                self.elsewhere.add(session_id)
                return
            try:
                await work(session_id)
            except asyncio.CancelledError:  # the service stops: release_all frees the lease
                raise
            except Exception:
                log.exception("session %s: its work failed", session_id)
            await asyncio.to_thread(self.leases.release, session_id)

        return claimed()

    # -- a running lab's home ----------------------------------------------------------------
    async def serve(self, session_id: str, nodes: dict[str, dict[str, Any]]) -> bool:
        """Open the candidates' ports here if this replica wins the session's access."""
        if not await asyncio.to_thread(self.leases.claim, ACCESS + session_id):
            return False
        self.serving.add(session_id)
        await self.c.access.open(session_id, nodes)
        return True

    async def unserve(self, session_id: str) -> None:
        await self.c.access.close(session_id)
        if session_id in self.serving:
            self.serving.discard(session_id)
            await asyncio.to_thread(self.leases.release, ACCESS + session_id)

    def release_all(self) -> None:
        """On a clean stop: what this replica held, free at once for the others."""
        for name in [*self.c.tasks, *(ACCESS + s for s in self.serving), DUTY]:
            self.leases.release(name)
        self.serving.clear()

    # -- every REFRESH_SECONDS ---------------------------------------------------------------
    def tick(self) -> None:
        if self._refreshing or time.monotonic() < self._next:
            return
        self._next, self._refreshing = time.monotonic() + REFRESH_SECONDS, True
        self.c.run_in_background(self._refresh())

    async def _refresh(self) -> None:
        try:
            served = set(self.serving)  # those made ready from now on are not in `ready`
            ready, lapsed = await asyncio.to_thread(self._renew)
            for session_id in served - set(ready):  # ended (maybe by another replica)
                await self.unserve(session_id)
            for session_id in served & set(ready):  # a node started again elsewhere
                await self._follow(session_id, ready[session_id])
            for session_id in lapsed:
                if session_id in self.serving:  # made ready here meanwhile
                    continue
                if await self.serve(session_id, ready[session_id]):
                    log.info("session %s: its candidates' access taken over", session_id)
        except Exception:  # as the tick's: the next refresh comes soon
            log.exception("renewing this replica's leases failed")
        finally:
            self._refreshing = False

    async def _follow(self, session_id: str, nodes: dict[str, dict[str, Any]]) -> None:
        doors = self.c.access.open_doors.get(session_id, {})
        for node, row in nodes.items():
            door = doors.get(node)
            if door is not None and door.target[0] != row["address"]:
                await self.c.access.open_node(session_id, node, row)

    def _renew(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Renew what this replica holds, claim the duties if free; returns the ready
        sessions (id -> nodes) and those whose access no live replica holds."""
        held = set(self.c.tasks) | {ACCESS + s for s in self.serving}
        lost = held - self.leases.renew(held)
        if lost:
            log.warning("leases taken over by another replica: %s", ", ".join(sorted(lost)))
        self.leading = self.leases.claim(DUTY)
        now, me = utcnow(), self.leases.holder
        live = {n for n, (who, until) in self.leases.held().items() if who != me and until >= now}
        self.elsewhere = live
        with unit_of_work(self.c.engine) as db:
            rows = db.exec(
                select(LabSession.id, LabSession.nodes).where(col(LabSession.state) == State.ready)
            )
            ready = {session_id: dict(nodes) for session_id, nodes in rows}
        lapsed = [s for s in ready if s not in self.serving and ACCESS + s not in live]
        return ready, lapsed
