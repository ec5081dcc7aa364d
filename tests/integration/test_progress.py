"""Live progress on a real lab: the running session's built-in criteria previewed every few
seconds for the examiners (the `python` one never), following the candidate's work; not for
the candidate, never a grade, gone once the exam ends."""

from __future__ import annotations

import time
from typing import Any

import docker
import httpx

from labs.driver import SESSION_LABEL
from tests.integration.conftest import Service


def _progress(api: httpx.Client, session_id: str, want: dict[str, str]) -> dict[str, Any]:
    deadline, seen = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        reply = api.get(f"/api/sessions/{session_id}/progress")
        if reply.status_code == 200 and (seen := reply.json())["criteria"] == want:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"progress never showed {want}: last {seen}")


def test_examiners_follow_a_running_lab_s_criteria_live(service: Service) -> None:
    with service.client() as api:
        made = api.post("/api/sessions", json={"scenario": "progress", "candidate": "Zoé"})
        session = made.json()
        service.wait(session["id"], "ready")
        before = _progress(
            api, session["id"], {"answer-file": "failed", "hostname": "passed", "sshd": "passed"}
        )
        assert before["held"] == ["hostname", "sshd"]

        [node] = docker.from_env().containers.list(
            filters={"label": f"{SESSION_LABEL}={session['id']}"}
        )
        assert node.exec_run(["sh", "-c", "echo 42 > /root/answer.txt"]).exit_code == 0
        after = _progress(
            api, session["id"], {"answer-file": "passed", "hostname": "passed", "sshd": "passed"}
        )
        assert after["at"] > before["at"]

        token = session["access"]["token"]
        with service.client(token) as candidate:  # theirs to see: no
            assert candidate.get(f"/api/sessions/{session['id']}/progress").status_code == 403
            assert "progress" not in candidate.get(f"/api/sessions/{session['id']}").json()
        assert api.get(f"/api/sessions/{session['id']}/result").status_code == 409  # no grade

        assert api.post(f"/api/sessions/{session['id']}/end").status_code == 200
        service.wait(session["id"], "graded")
        assert api.get(f"/api/sessions/{session['id']}/progress").status_code == 404
        result = api.get(f"/api/sessions/{session['id']}/result").json()
        assert {c["id"] for c in result["criteria"]} == {
            "answer-file",
            "hostname",
            "sshd",
            "exercised",
        }
