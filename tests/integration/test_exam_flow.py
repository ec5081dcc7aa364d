"""The AMP exam end to end through the API: a candidate solves it, another hands in a blank lab."""

from __future__ import annotations

import io
import subprocess
import threading
from datetime import datetime, timedelta
from typing import Any

import paramiko
import pytest
from pypdf import PdfReader

from tests.integration.conftest import PRAXIS, ROOT, Service, candidate_ssh, sudo

SOLUTION = (ROOT / "scenarios/amp-stack/solution/web.sh").read_text()


def verdicts(result: dict[str, Any]) -> list[Any]:
    """What must not change from one grading of a frozen lab to the next."""
    return [(c["id"], c["score"], c["status"], c["message"]) for c in result["criteria"]] + [
        result["score"],
        [(n["node"], n["findings"]) for n in result["integrity"]],
    ]


class Neighbours:
    """Three other labs that start and end, over and over, while the block runs."""

    def __init__(self, service: Service) -> None:
        self.service, self.stop = service, threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.rounds = 0
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._churn()
        except BaseException as exc:  # said by __exit__, in the test's own thread
            self.error = exc

    def _churn(self) -> None:
        with self.service.client() as api:
            while not self.stop.is_set():
                ids = [
                    api.post(
                        "/api/sessions", json={"scenario": "quick", "candidate": f"N{i}"}
                    ).json()["id"]
                    for i in range(3)
                ]
                for sid in ids:
                    self.service.wait(sid, "ready")
                    api.post(f"/api/sessions/{sid}/end")
                for sid in ids:
                    self.service.wait(sid, "graded", "torn_down")
                self.rounds += 1

    def __enter__(self) -> Neighbours:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        assert self.error is None, f"a neighbour's lab went wrong: {self.error!r}"
        assert self.rounds >= 1, "the neighbours' labs never went round"


def test_amp_exam_solved_scores_100_and_blank_scores_at_most_10(service: Service) -> None:
    with service.client() as api:
        created = api.post(
            "/api/sessions", json={"scenario": "amp-stack", "candidate": "Alice Martin"}
        )
        blank = api.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Bob Blanc"})
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["state"] == "requested" and body["access"]["token"]
    session_id, candidate_token = body["id"], body["access"]["token"]

    ready = service.wait(session_id, "ready")
    deadline = datetime.fromisoformat(ready["deadline"])
    assert deadline - datetime.fromisoformat(ready["ready_at"]) == timedelta(minutes=90)
    assert 5300 < ready["seconds_left"] <= 5400
    assert ready["nodes"][0]["state"] == "running" and ready["nodes"][0]["ssh"].startswith(
        "ssh -p "
    )

    with service.client(candidate_token) as candidate:
        assert candidate.get(f"/api/sessions/{session_id}").status_code == 200
        assert candidate.get(f"/api/sessions/{blank.json()['id']}").status_code == 403
        assert candidate.get("/api/sessions").status_code == 403
        assert candidate.get(f"/api/sessions/{session_id}/result").status_code == 403
        subject = candidate.get(f"/api/sessions/{session_id}/instructions").text
        assert "intranet.colibri.lan" in subject and "{{" not in subject

        ssh = candidate_ssh(ready)
        status, output = sudo(ssh, ready["access"]["password"], SOLUTION, ready["params"])
        assert status == 0, output[-3000:]
        submitted = candidate.post(f"/api/sessions/{session_id}/submit")
        assert submitted.status_code == 200 and submitted.json()["state"] == "ending"
        # The candidate's token ends with the exam: a second submit opens nothing.
        assert candidate.post(f"/api/sessions/{session_id}/submit").status_code == 401

    # Candidate access is cut before grading: the open shell dies, a new login is refused.
    service.wait(session_id, "grading", "graded", "torn_down")
    with pytest.raises((paramiko.SSHException, OSError, EOFError)):
        ssh.exec_command("true", timeout=5)[1].read()
    with pytest.raises((paramiko.SSHException, OSError)):
        candidate_ssh(ready)

    service.wait(session_id, "graded", "torn_down")
    blank_ready = service.wait(blank.json()["id"], "ready")
    # Both labs built on demand, one graded: what the operator's Prometheus reads.
    for counted, times in (("provisioning", 2), ("ready", 2), ("grading", 1)):
        name = f"praxis_{counted}_seconds_count"
        assert service.metric(name, scenario="amp-stack") == times, counted
    assert service.metric("praxis_sessions", state="ready") == 1
    live = subprocess.run(
        [PRAXIS, "reap", blank_ready["id"]], env=service.env, capture_output=True, text=True
    )
    assert live.returncode == 1 and "is live" in live.stderr  # a running exam's lab stays
    with service.client() as api:
        assert api.post(f"/api/sessions/{blank_ready['id']}/end").status_code == 200
        result = api.get(f"/api/sessions/{session_id}/result").json()
        events = api.get(f"/api/sessions/{session_id}/events").json()
    assert result["score"] == 100.0, [
        (c["id"], c["message"]) for c in result["criteria"] if c["score"] < 1
    ]
    assert 8 <= len(result["criteria"]) <= 12
    for criterion in result["criteria"]:
        assert criterion["evidence"], criterion["id"]
        assert {"command", "status", "output", "duration_ms"} <= set(criterion["evidence"][0])
    assert [e["state"] for e in events].count("graded") == 1
    with service.client() as api:
        pdf = api.get(f"/api/sessions/{session_id}/report.pdf").content
    # An examiner grades the kept lab again, 20 times, while neighbours' labs start and end:
    # the same verdicts every time; each previous grade goes to the audit log.
    assert result["complete"] and result["integrity"][0]["findings"] == []
    with Neighbours(service):
        for _ in range(20):
            with service.client() as api:
                assert api.post(f"/api/sessions/{session_id}/regrade").status_code == 202
            service.wait(session_id, "graded")
            with service.client() as api:
                again = api.get(f"/api/sessions/{session_id}/result").json()
            assert verdicts(again) == verdicts(result)
    with service.client() as api:
        log = api.get("/api/audit", params={"session_id": session_id}).json()
    assert [e["action"] for e in log] == ["end"] + ["regrade"] * 20
    assert log[1]["detail"]["previous_score"] == 100
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Alice Martin" in text and "100" in text and "BLOC4.C4.C3" in text

    service.wait(blank_ready["id"], "graded", "torn_down")
    with service.client() as api:
        blank_result = api.get(f"/api/sessions/{blank_ready['id']}/result").json()
    assert blank_result["score"] <= 10, [(c["id"], c["score"]) for c in blank_result["criteria"]]


def test_api_refuses_bad_requests_with_reasons(service: Service) -> None:
    with service.client() as api:
        unknown = api.post("/api/sessions", json={"scenario": "nope", "candidate": "x"})
        assert unknown.status_code == 404 and "amp-stack" in unknown.json()["detail"]
        assert api.post("/api/sessions", json={"scenario": "quick"}).status_code == 422
        assert api.get("/api/sessions/000000000000").status_code == 404
        assert api.get("/api/sessions/000000000000/result").status_code == 404
    with service.client("not-a-token") as intruder:
        refused = intruder.get("/api/sessions")
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
