"""A replica among others (app.replica): whose candidates' doors it opens, when it takes over
another's, and when it closes its own. The controller and its doors are fakes here; two real
replicas: tests/integration/test_replicas.py."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from app.db import unit_of_work
from app.models import LabSession, Lease, State, utcnow
from app.replica import ACCESS, DUTY, Replica

NODES = {"web": {"address": "10.0.0.2", "port": 20001}}


class Doors:
    def __init__(self) -> None:
        self.open_doors: dict[str, dict[str, Any]] = {}
        self.opened: list[str] = []
        self.closed: list[str] = []

    async def open(self, session_id: str, nodes: dict[str, dict[str, Any]]) -> None:
        self.opened.append(session_id)
        self.open_doors[session_id] = {}

    async def open_node(self, session_id: str, node: str, row: dict[str, Any]) -> None:
        self.opened.append(f"{session_id}/{node}")

    async def close(self, session_id: str) -> None:
        self.closed.append(session_id)
        self.open_doors.pop(session_id, None)


class FakeController:
    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.settings = type("S", (), {"data_dir": data_dir})()
        self.tasks: dict[str, object] = {}
        self.access = Doors()
        self.background: list[Coroutine[Any, Any, None]] = []

    def run_in_background(self, work: Coroutine[Any, Any, None]) -> None:
        self.background.append(work)


def replica(engine: Engine, tmp_path: Path, name: str) -> Replica:
    return Replica(FakeController(engine, tmp_path / name))  # type: ignore[arg-type]


def ready(engine: Engine, *ids: str) -> None:
    with unit_of_work(engine) as db:
        for session_id in ids:
            db.add(LabSession(id=session_id, scenario="quick", candidate="c", state=State.ready))
            db.flush()
            lab = db.get(LabSession, session_id)
            assert lab is not None
            lab.nodes = NODES


def lapse(engine: Engine) -> None:
    with unit_of_work(engine) as db:
        db.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))


def refresh(r: Replica) -> None:
    asyncio.run(r._refresh())


def test_one_replica_serves_a_lab_until_it_dies(migrated: Engine, tmp_path: Path) -> None:
    a, b = replica(migrated, tmp_path, "a"), replica(migrated, tmp_path, "b")
    ready(migrated, "s1")
    refresh(a)
    assert a.serving == {"s1"} and a.leading
    refresh(b)  # a is alive: b leaves its door and duties alone
    assert b.serving == set() and not b.leading and ACCESS + "s1" in b.elsewhere
    lapse(migrated)  # a is gone: nothing renewed
    refresh(b)
    assert b.serving == {"s1"} and b.leading
    assert b.c.access.opened == ["s1"]  # type: ignore[attr-defined]


def test_a_lab_that_left_ready_is_closed_and_its_lease_freed(
    migrated: Engine, tmp_path: Path
) -> None:
    a = replica(migrated, tmp_path, "a")
    ready(migrated, "s1")
    refresh(a)
    with unit_of_work(migrated) as db:  # ended, maybe by another replica
        db.execute(update(LabSession).values(state=State.ending))
    refresh(a)
    assert a.serving == set() and a.c.access.closed == ["s1"]  # type: ignore[attr-defined]
    assert ACCESS + "s1" not in a.leases.held()


def test_a_lab_made_ready_during_a_refresh_keeps_its_door(
    migrated: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = replica(migrated, tmp_path, "a")
    renew = a._renew

    def made_ready_meanwhile() -> tuple[dict[str, dict[str, Any]], list[str]]:
        found = renew()  # read before the lab below was made ready
        ready(migrated, "late")
        a.serving.add("late")  # as the controller's provisioning does, right after
        return found

    monkeypatch.setattr(a, "_renew", made_ready_meanwhile)
    refresh(a)
    assert a.serving == {"late"} and a.c.access.closed == []  # type: ignore[attr-defined]


def test_a_clean_stop_frees_everything_at_once(migrated: Engine, tmp_path: Path) -> None:
    a, b = replica(migrated, tmp_path, "a"), replica(migrated, tmp_path, "b")
    ready(migrated, "s1")
    refresh(a)
    a.release_all()
    refresh(b)
    assert b.serving == {"s1"} and b.leading
    assert set(b.leases.held()) == {ACCESS + "s1", DUTY}


def test_a_restarted_replica_finds_its_own_leases(migrated: Engine, tmp_path: Path) -> None:
    ready(migrated, "s1")
    refresh(replica(migrated, tmp_path, "a"))
    again = replica(migrated, tmp_path, "a")  # the same data folder: the same holder
    refresh(again)
    assert again.serving == {"s1"} and again.leading
