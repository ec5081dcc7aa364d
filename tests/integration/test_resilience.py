"""Broken labs, a killed service, and the clock: no lost session, no lost or doubled grade."""

from __future__ import annotations

import time
from datetime import datetime

import docker

from tests.integration.conftest import Service, candidate_ssh, sudo


def _start(service: Service, scenario: str, candidate: str) -> str:
    with service.client() as api:
        reply = api.post("/api/sessions", json={"scenario": scenario, "candidate": candidate})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["id"])


def test_broken_labs_are_graded_as_they_are_and_end_cleanly(service: Service) -> None:
    no_sshd, stopped = _start(service, "quick", "sabotage"), _start(service, "quick", "crash")
    engine = docker.from_env()
    for session_id in (no_sshd, stopped):
        service.wait(session_id, "ready")
    # The candidate turns sshd off for good: the grader does not need it (it goes through the
    # engine), and reports the port closed after the restart that precedes grading.
    engine.containers.get(f"praxis-{no_sshd}-web").exec_run(
        ["systemctl", "disable", "--now", "ssh.socket", "ssh"]
    )
    engine.containers.get(f"praxis-{stopped}-web").stop(timeout=1)
    with service.client() as api:
        for session_id in (no_sshd, stopped):
            assert api.post(f"/api/sessions/{session_id}/end").status_code == 200
    results = {}
    for session_id in (no_sshd, stopped):
        service.wait(session_id, "graded", "torn_down", timeout=90)
        with service.client() as api:
            results[session_id] = api.get(f"/api/sessions/{session_id}/result").json()
    verdicts = {c["id"]: c for c in results[no_sshd]["criteria"]}
    assert "port 22 is closed" in verdicts["sshd-listens"]["message"]
    assert verdicts["hostname"]["status"] == "passed"
    assert results[stopped]["score"] == 0
    for criterion in results[stopped]["criteria"]:
        assert criterion["status"] == "failed" and criterion["evidence"], criterion
    messages = " ".join(c["message"] for c in results[stopped]["criteria"])
    assert "unreachable" in messages and "port 22 is closed" in messages


def test_killed_service_resumes_and_grades_once_at_the_deadline(service: Service) -> None:
    session_id = _start(service, "quick", "Chloé Durand")
    ready = service.wait(session_id, "ready")
    ssh = candidate_ssh(ready)
    # The candidate also removes the grader's key (by mistake or not): grading must not care.
    work = "echo 42 > /root/answer.txt; rm /root/.ssh/authorized_keys"
    status, output = sudo(ssh, ready["access"]["password"], work)
    assert status == 0, output
    ssh.close()

    service.kill()  # SIGKILL: no clean shutdown, the controller's tasks die with it
    time.sleep(2)
    service.start()
    # Access comes back with the service, on the same port, before the deadline.
    candidate_ssh(service.wait(session_id, "ready")).close()

    graded = service.wait(session_id, "graded", "torn_down", timeout=60)
    with service.client() as api:
        result = api.get(f"/api/sessions/{session_id}/result").json()
        events = api.get(f"/api/sessions/{session_id}/events").json()
    deadline = datetime.fromisoformat(graded["deadline"])
    ended = next(datetime.fromisoformat(e["at"]) for e in events if e["state"] == "ending")
    assert abs((ended - deadline).total_seconds()) < 1.5, (ended, deadline)
    assert result["score"] == 100.0
    states = [e["state"] for e in events]
    assert states.count("ready") == 1 and states.count("graded") == 1, states
    assert graded["reason"] == "" or "time" in graded["reason"]
