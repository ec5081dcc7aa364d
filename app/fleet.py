"""Several lab hosts behind the one LabDriver the controller sees. Each session's lab lives on
one host: placed when its lab is first made (the eligible host with the most room), recorded
on the session, and every later step (health, freeze, grading, teardown, reaping) goes there.

This machine's own engines are the host `local`; further Docker
Engines are enrolled with `praxis hosts add` (app.hosts). A host whose engine does not answer
is left out of placement; its sessions' steps fail as a broken lab's do, and no other host's
wait for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import docker
import docker.errors
from sqlalchemy import Engine, update
from sqlmodel import col, select

from app.catalog import Catalog
from app.db import unit_of_work
from app.models import LIVE_STATES, LabHost, LabSession
from labs.driver import Access, HostDown, LabDriver, LabError, NodeInfo
from labs.scenario import Scenario

LOCAL = "local"  # this machine's engines ("" in the row of a session not yet placed)
REFRESH_SECONDS = 5.0  # how long the enrolled hosts and their health are taken as known
PING_TIMEOUT = 3  # seconds an engine has to answer a health check
log = logging.getLogger("praxis.fleet")
HostDriver = Callable[[LabHost], LabDriver]


class Fleet:
    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        local: LabDriver,
        local_memory: int,
        host_driver: HostDriver,
    ) -> None:
        self.engine, self.catalog, self.local = engine, catalog, local
        self.local_memory = local_memory  # bytes the local host's labs may take, caps summed
        self._host_driver = host_driver
        self._drivers: dict[str, tuple[LabHost, LabDriver]] = {}
        self._up: dict[str, bool] = {}
        self._known_at = -REFRESH_SECONDS
        self._placed: dict[str, str] = {}  # session -> its host, once placed (never changes)
        # A request thread holds a database connection when it gets here: one thread reads the
        # hosts again while the others go on with what is known, never waiting for the pool.
        self._refreshing = threading.Lock()
        self._placing = threading.Lock()  # one placement at a time: each counts the others'

    # -- the hosts ------------------------------------------------------------------------------
    def hosts(self, now: bool = False) -> dict[str, tuple[LabHost, LabDriver]]:
        """The enrolled hosts and their drivers, read again every REFRESH_SECONDS; `now`: read
        again now (or wait for a read under way, as the first time)."""
        asked_at = time.monotonic()
        if not now and asked_at - self._known_at < REFRESH_SECONDS:
            return self._drivers
        never_read = self._known_at < 0
        if not self._refreshing.acquire(blocking=now or never_read):
            return self._drivers
        try:
            if self._known_at < asked_at:  # not read by another thread meanwhile
                self._refresh()
        finally:
            self._refreshing.release()
        return self._drivers

    def _refresh(self) -> None:
        with unit_of_work(self.engine) as db:
            rows = {h.name: h for h in db.exec(select(LabHost))}
        drivers = {}
        for name, row in rows.items():
            known = self._drivers.get(name)
            same = known is not None and known[0].docker_url == row.docker_url
            drivers[name] = known if same and known else (row, self._host_driver(row))
        self._up = {name: engine_answers(row.docker_url) for name, row in rows.items()}
        self._drivers = drivers
        self._known_at = time.monotonic()

    def host_of(self, session_id: str) -> str | None:
        """The session's host ("" not yet placed), None for a session the database does not
        know."""
        if session_id in self._placed:
            return self._placed[session_id]
        with unit_of_work(self.engine) as db:
            row = db.exec(select(LabSession.host).where(LabSession.id == session_id)).first()
        if row:
            self._placed[session_id] = row
        return row

    def _on(self, session_id: str) -> LabDriver:
        host = self.host_of(session_id) or LOCAL
        if host == LOCAL:
            return self.local
        known = self.hosts().get(host) or self.hosts(now=True).get(host)  # enrolled just now?
        if known is None:
            raise LabError(f"lab host {host} is not enrolled any more (`praxis hosts`)")
        if not self._up[host]:
            raise HostDown(f"lab host {host} does not answer")
        return known[1]

    def _all(self) -> list[tuple[str, LabDriver]]:
        return [(LOCAL, self.local)] + [(n, d) for n, (_, d) in self.hosts().items()]

    # -- placement ------------------------------------------------------------------------------
    def place(self, session_id: str, scenario: Scenario) -> str:
        """Choose the session's host and record it, once: the eligible host with the most
        memory left (its capacity less the caps of the labs it holds), one that still has room
        for this lab if any has. Raises LabError when no host can run the scenario."""
        with self._placing:
            recorded = self.host_of(session_id)
            if recorded:
                return recorded
            hosts = self.hosts()
            free = {LOCAL: self.local_memory} | {
                name: row.memory_bytes for name, (row, _) in hosts.items() if self._up[name]
            }
            if any(node.kind == "vm" for node in scenario.nodes.values()):
                free = {LOCAL: free[LOCAL]}  # VMs run on this machine's libvirt only
            for host, taken in self._committed().items():
                if host in free:
                    free[host] -= taken
            need = sum(node.memory_bytes for node in scenario.nodes.values())
            roomy = {h: f for h, f in free.items() if f >= need} or free
            order = sorted(roomy, key=lambda h: (h != LOCAL, h))  # ties: local, then by name
            chosen = max(order, key=lambda h: roomy[h])
            url = hosts[chosen][0].docker_url if chosen in hosts else ""
            with unit_of_work(self.engine) as db:
                db.execute(
                    update(LabSession)
                    .where(col(LabSession.id) == session_id)
                    .values(host=chosen, docker_url=url)
                )
            self._placed[session_id] = chosen
            return chosen

    def _committed(self) -> dict[str, int]:
        """Host -> the memory caps of the live labs placed there, summed (those not yet placed
        count nowhere: they are being placed one at a time)."""
        with unit_of_work(self.engine) as db:
            rows = db.exec(
                select(LabSession.host, LabSession.scenario).where(
                    col(LabSession.state).in_(LIVE_STATES)
                )
            ).all()
        taken: dict[str, int] = {}
        for host, name in rows:
            if not host:
                continue
            try:
                nodes = self.catalog.get(name).nodes.values()
            except LookupError:  # a scenario removed since: its labs count for nothing
                continue
            taken[host] = taken.get(host, 0) + sum(node.memory_bytes for node in nodes)
        return taken

    # -- LabDriver --------------------------------------------------------------------------------
    def create(self, session_id: str, scenario: Scenario, access: Access) -> dict[str, NodeInfo]:
        if (
            self.place(session_id, scenario) != LOCAL
        ):  # the network prepared ahead for this id is on this machine: its bridge's name
            self.local.destroy(session_id)  # would clash with the one made on the other engine
        return self._on(session_id).create(session_id, scenario, access)

    def prepare(self, session_id: str) -> None:
        self.local.prepare(session_id)  # ahead of placement: most labs stay on this machine

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        return self._on(session_id).freeze(session_id, access, restart)

    def node_states(self, session_id: str) -> dict[str, str]:
        try:
            return self._on(session_id).node_states(session_id)
        except LabError:
            return {}

    def all_node_states(self) -> dict[str, dict[str, str]]:
        states: dict[str, dict[str, str]] = {}
        for name, driver in self._all():
            if name == LOCAL or self._up.get(name):
                states |= driver.all_node_states()
        return states

    def node_cause(self, session_id: str, node: str) -> str:
        try:
            return self._on(session_id).node_cause(session_id, node)
        except LabError:
            return "unknown"

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        return self._on(session_id).start_node(session_id, node, restart)

    def destroy(self, session_id: str) -> None:
        """On the session's host, and on this machine (where its network may have been made
        ahead); a session the database does not know (an orphan) on every host."""
        host = self.host_of(session_id)
        where = self._all() if host is None else [(LOCAL, self.local)]
        if host not in (None, "", LOCAL):
            where.append((host, self._on(session_id)))
        errors = []
        for name, driver in where:
            try:
                driver.destroy(session_id)
            except LabError as exc:
                if name in (LOCAL, host) or self._up.get(name):
                    errors.append(f"{name}: {exc}")
        if errors:
            raise LabError("; ".join(errors))
        self._placed.pop(session_id, None)

    def sessions(self) -> set[str]:
        """Sessions with objects on any host that answers: a host that is down is reaped
        when it is back."""
        found: set[str] = set()
        for name, driver in self._all():
            try:
                found |= driver.sessions()
            except (LabError, *ENGINE_ERRORS) as exc:
                log.warning("lab host %s: its labs could not be listed: %s", name, exc)
        return found


ENGINE_ERRORS = (docker.errors.DockerException, OSError)


def engine_answers(url: str) -> bool:
    try:
        client = docker.DockerClient(base_url=url, timeout=PING_TIMEOUT)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except ENGINE_ERRORS:
        return False


def local_memory() -> int:
    """This machine's memory, the local host's capacity for labs."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
