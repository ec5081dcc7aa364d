"""Two service replicas on one PostgreSQL share the sessions (app.replica, app.leases): one is
killed with SIGKILL mid-way; every session still ends graded exactly once, its deadline kept,
and the candidates' access of the dead replica's labs is taken over by the other."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import paramiko
from sqlalchemy import Engine
from sqlmodel import col, select

from app.db import make_engine, unit_of_work
from app.models import Event, LabSession, Lease, Result, State
from tests.integration.conftest import Service, candidate_ssh

SESSIONS = 10
LATE = 5.0  # seconds a time-up may come after the deadline on a busy 2-core host


def test_a_replica_killed_mid_way_loses_no_session_and_no_deadline(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Service(tmp_path / "a", database_url=postgres_url).start()
    b = Service(tmp_path / "b", database_url=postgres_url).start()
    engine = make_engine(postgres_url)
    try:
        ids = []
        with a.client() as on_a, b.client() as on_b:
            for i in range(SESSIONS):
                api = on_a if i % 2 == 0 else on_b
                made = api.post("/api/sessions", json={"scenario": "clock", "candidate": f"R{i}"})
                assert made.status_code == 202, made.text
                ids.append(made.json()["id"])
        # Mid-way: a holds the work of a lab being built and the access of one that is ready.
        a_holds = str(tmp_path / "a" / "data")
        deadline = time.monotonic() + 240
        while True:
            held = [name for name, holder in leases(engine).items() if holder.endswith(a_holds)]
            served_by_a = [n.removeprefix("access:") for n in held if n.startswith("access:")]
            building = [n for n in held if n in ids]
            if served_by_a and building:
                break
            assert time.monotonic() < deadline, (held, states(engine, ids))
            time.sleep(0.1)
        a.kill(signal.SIGKILL)
        killed_at = time.monotonic()

        # The candidates' SSH to a's labs comes back through b.
        with b.client() as on_b:
            session = on_b.get(f"/api/sessions/{served_by_a[0]}").json()
        while True:  # the lease lapses (15 s), b's next look takes it up (2 s); 40 s exams
            try:
                candidate_ssh(session).close()
                break
            except (OSError, paramiko.SSHException):
                assert time.monotonic() - killed_at < 30, "access not taken over"
                time.sleep(0.5)
        taken_over = time.monotonic() - killed_at

        for session_id in ids:
            b.wait(session_id, "graded", "torn_down", timeout=420)
        with unit_of_work(engine) as db:
            for session_id in ids:
                lab = db.get(LabSession, session_id)
                assert lab is not None and lab.deadline is not None and lab.ended_at is not None
                events = list(db.exec(select(Event).where(col(Event.session_id) == session_id)))
                assert sum(e.detail.startswith("score ") for e in events) == 1, events
                assert db.get(Result, session_id) is not None
                [up] = [e.at for e in events if e.detail == "time is up"]
                late = (as_utc(up) - as_utc(lab.deadline)).total_seconds()
                assert 0 <= late <= LATE, (session_id, late, taken_over)
    finally:
        a.kill(signal.SIGKILL)
        b.kill(signal.SIGTERM)
        b.destroy_all()
        engine.dispose()


def states(engine: Engine, ids: list[str]) -> dict[str, State]:
    with unit_of_work(engine) as db:
        rows = db.exec(select(LabSession).where(col(LabSession.id).in_(ids)))
        return {lab.id: lab.state for lab in rows}


def leases(engine: Engine) -> dict[str, str]:
    with unit_of_work(engine) as db:
        return {lease.name: lease.holder for lease in db.exec(select(Lease))}


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
