"""Several lab hosts: a second Docker Engine on this machine (its own socket, data root and
address pool, scripts/lab-engine.sh) stands in for a second host. Sessions are spread across
both, each is graded and removed on its own host, and killing that engine touches only its
sessions: theirs wait, graded once it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from sqlmodel import select

from app.db import make_engine, unit_of_work
from app.models import Event, LabSession
from labs.driver import SESSION_LABEL
from tests.integration.conftest import ROOT, Service, candidate_ssh, sudo

ENGINE = "praxis-test"
POOL = "10.214.0.0/16"
SCRIPT = ["bash", str(ROOT / "scripts" / "lab-engine.sh")]
DOCKER0 = Path("/sys/class/net/docker0")


def start_engine() -> str:
    done = subprocess.run([*SCRIPT, "start", ENGINE], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def second_engine() -> Iterator[str]:
    had_docker0 = DOCKER0.exists()
    url = start_engine()
    assert DOCKER0.exists() == had_docker0  # an engine without a bridge deletes the main one's
    yield url
    client = docker.DockerClient(base_url=url)
    for container in client.containers.list(all=True, filters={"label": SESSION_LABEL}):
        container.remove(force=True, v=True)
    client.networks.prune(filters={"label": SESSION_LABEL})
    subprocess.run([*SCRIPT, "stop", ENGINE], check=True, capture_output=True)


@pytest.fixture
def two_hosts(tmp_path: Path, second_engine: str) -> Iterator[Service]:
    svc = Service(tmp_path, retention_seconds="1")
    svc.cli("hosts", "add", "second", "--docker", second_engine, "--pool", POOL)
    svc.start()
    yield svc
    svc.kill(signal.SIGTERM)
    svc.destroy_all()


def hosts_of(svc: Service) -> dict[str, str]:
    engine = make_engine(f"sqlite:///{svc.env['PRAXIS_DATA_DIR']}/praxis.db")
    with unit_of_work(engine) as db:
        return {lab.id: lab.host for lab in db.exec(select(LabSession))}


def details(svc: Service, session_id: str) -> list[str]:
    engine = make_engine(f"sqlite:///{svc.env['PRAXIS_DATA_DIR']}/praxis.db")
    with unit_of_work(engine) as db:
        events = db.exec(select(Event).where(Event.session_id == session_id))
        return [e.detail for e in events]


def answered(svc: Service, api: Any, count: int) -> list[dict[str, Any]]:
    """`count` clock exams, ready, each with the candidate's answer written through their
    own access (the platform's SSH port, a password, sudo)."""
    ids = []
    for i in range(count):
        made = api.post("/api/sessions", json={"scenario": "clock", "candidate": f"H{i}"})
        assert made.status_code == 202, made.text
        ids.append(made.json()["id"])
    ready = [svc.wait(session_id, "ready") for session_id in ids]
    for session in ready:
        ssh = candidate_ssh(session)
        status, output = sudo(ssh, session["access"]["password"], "echo 42 > /root/answer.txt")
        assert status == 0, output
        ssh.close()
    return ready


def on_engine(url: str | None, session_id: str) -> int:
    client = docker.DockerClient(base_url=url) if url else docker.from_env()
    return len(client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={session_id}"}))


def test_sessions_are_spread_graded_and_removed_each_on_its_own_host(
    two_hosts: Service, second_engine: str
) -> None:
    svc = two_hosts
    listed = svc.cli("hosts")
    assert "second" in listed and "up" in listed
    with svc.client() as api:
        ready = answered(svc, api, 4)
        placed = hosts_of(svc)
        assert sorted(placed.values()) == ["local", "local", "second", "second"]  # by room
        assert {s["id"]: s["host"] for s in ready} == placed  # as the API tells staff
        for session in ready:
            sid = session["id"]
            here, there = on_engine(None, sid), on_engine(second_engine, sid)
            assert (here, there) == ((0, 1) if placed[sid] == "second" else (1, 0))
        for session in ready:
            svc.wait(session["id"], "torn_down", timeout=300)
            result = api.get(f"/api/sessions/{session['id']}/result").json()
            assert result["score"] == 100.0, result["criteria"]
            assert on_engine(None, session["id"]) == on_engine(second_engine, session["id"]) == 0


def test_a_host_that_goes_away_holds_back_only_its_own_sessions(
    two_hosts: Service, second_engine: str
) -> None:
    svc = two_hosts
    with svc.client() as api:
        ready = answered(svc, api, 2)
        placed = hosts_of(svc)
        [away] = [s["id"] for s in ready if placed[s["id"]] == "second"]
        [kept] = [s["id"] for s in ready if placed[s["id"]] == "local"]
        pid = int(Path(f"/run/praxis-engines/{ENGINE}/dockerd.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        try:
            graded = svc.wait(kept, "graded", "torn_down", timeout=300)
            assert api.get(f"/api/sessions/{kept}/result").json()["score"] == 100.0, graded
            assert "down" in svc.cli("hosts").split("second")[1].splitlines()[0]
            deadline = time.monotonic() + 60
            while not any("does not answer" in d for d in details(svc, away)):
                assert time.monotonic() < deadline, details(svc, away)
                time.sleep(0.5)
            assert api.get(f"/api/sessions/{away}").json()["state"] == "ending"
        finally:
            start_engine()
        # Back (its labs ran on meanwhile: live-restore): frozen and graded, once, on the
        # candidate's work.
        svc.wait(away, "torn_down", timeout=300)
        result = api.get(f"/api/sessions/{away}/result").json()
        assert result["score"] == 100.0, result["criteria"]
        assert sum(d.startswith("score ") for d in details(svc, away)) == 1  # graded once
        assert on_engine(second_engine, away) == 0  # and removed from its host
