"""The pool on real labs: labs made ahead by the running service, a pooled lab killed before
hand-out replaced, a walk-in given a ready lab at once with the secrets made for that lab alone
(another pooled lab's password does not open it), and the pool made whole again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
import paramiko
import pytest
from sqlmodel import select

from app.db import make_engine, unit_of_work
from app.models import LabSession
from labs.driver import SESSION_LABEL
from tests.integration.conftest import Service, candidate_ssh


def _pool(service: Service, without: str = "", timeout: float = 180) -> dict[str, Any]:
    """The standing pool once it holds its 2 ready labs, `without` that one among them."""
    deadline = time.monotonic() + timeout
    with service.client() as api:
        while time.monotonic() < deadline:
            pools = api.get("/api/pools").json()
            ready = pools[0]["ready"] if pools else []
            if len(ready) == 2 and without not in ready and pools[0]["building"] == 0:
                found: dict[str, Any] = pools[0]
                return found
            time.sleep(0.5)
    raise AssertionError(f"the pool did not reach 2 ready labs without {without!r}: {pools}")


def _row(service: Service, session_id: str) -> LabSession:
    engine = make_engine(f"sqlite:///{service.env['PRAXIS_DATA_DIR']}/praxis.db")
    with unit_of_work(engine) as db:
        lab = db.exec(select(LabSession).where(LabSession.id == session_id)).one()
        db.expunge(lab)
        return lab


def test_a_pooled_lab_is_replaced_when_broken_and_handed_out_whole(tmp_path: Path) -> None:
    service = Service(tmp_path, pools=json.dumps({"quick": 2})).start()
    engine = docker.from_env()
    try:
        first = _pool(service)
        killed, kept = first["ready"]
        for container in engine.containers.list(filters={"label": f"{SESSION_LABEL}={killed}"}):
            container.kill()
        again = _pool(service, without=killed)
        assert kept in again["ready"]
        assert "broken before hand-out" in _row(service, killed).reason
        deadline = time.monotonic() + 60  # its containers removed
        while engine.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={killed}"}):
            assert time.monotonic() < deadline, "the broken pooled lab was not removed"
            time.sleep(0.5)

        own = _row(service, kept).candidate_password
        [other] = [i for i in again["ready"] if i != kept]
        others = _row(service, other).candidate_password
        with service.client() as api:
            reply = api.post("/api/sessions", json={"scenario": "quick", "candidate": "Léa"})
            assert reply.status_code == 202, reply.text
            session = reply.json()
        assert session["state"] == "ready" and session["id"] == kept  # the oldest first
        assert session["deadline"] is not None and session["access"]["password"] == own
        ssh = candidate_ssh(session)
        _, out, _ = ssh.exec_command("hostname")
        assert out.read().decode().strip() == "web"
        ssh.close()
        with pytest.raises(paramiko.AuthenticationException):
            candidate_ssh(session | {"access": session["access"] | {"password": others}})
        _pool(service, without=kept)  # made whole again
        # 2 labs built, 1 replaced, 1 made whole again; 1 session whose wait was a hand-out.
        assert service.metric("praxis_provisioning_seconds_count", scenario="quick") == 4
        assert service.metric("praxis_ready_seconds_count", scenario="quick") == 1
        assert service.metric("praxis_errors_total", kind="pooled_broken") == 1
        assert service.metric("praxis_pooled_labs", state="ready") == 2
    finally:
        service.kill()
        service.destroy_all()
