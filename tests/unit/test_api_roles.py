"""Every route against every role, through the real app and a real SQLite database.

The lab driver is a stub here (the boundary); the controller does not run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth import create_user
from app.config import ROOT, Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import Role


class NoLabs:
    def node_states(self, session_id: str) -> dict[str, str]:
        return {}

    def all_node_states(self) -> dict[str, dict[str, str]]:
        return {}

    def sessions(self) -> set[str]:
        return set()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, scenarios_dir=ROOT / "scenarios")
    app = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        yield test_client


def tokens(client: TestClient) -> dict[str, str]:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        return {
            role.value: create_user(db, role.value, role)
            for role in (Role.admin, Role.examiner, Role.instructor)
        }


def new_session(
    client: TestClient, examiner: str, candidate: str = "C", scenario: str = "amp-stack"
) -> dict[str, Any]:
    """A session made through the API by an examiner (its lab is never built here)."""
    reply = client.post(
        "/api/sessions",
        json={"scenario": scenario, "candidate": candidate},
        headers={"Authorization": f"Bearer {examiner}"},
    )
    body: dict[str, Any] = reply.json()
    return body


def call(client: TestClient, method: str, path: str, token: str | None, **kw: Any) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, path, headers=headers, **kw).status_code


def test_every_route_checks_the_role(client: TestClient) -> None:
    who = tokens(client)
    created = client.post(
        "/api/sessions",
        json={"scenario": "amp-stack", "candidate": "C"},
        headers={"Authorization": f"Bearer {who['examiner']}"},
    )
    assert created.status_code == 202, created.text
    sid, candidate = created.json()["id"], created.json()["access"]["token"]
    other = client.post(
        "/api/sessions",
        json={"scenario": "amp-stack", "candidate": "D"},
        headers={"Authorization": f"Bearer {who['admin']}"},
    ).json()["id"]
    who["candidate"] = candidate
    body = {"scenario": "amp-stack", "candidate": "E"}
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    person = {"last_name": "Durand", "first_name": "Léa", "number": "1"}
    sitting = {"scenario": "amp-stack", "starts_at": soon, "candidates": [person]}
    planned = client.post(
        "/api/sittings", json=sitting, headers={"Authorization": f"Bearer {who['examiner']}"}
    ).json()["id"]
    roster = {"files": {"roster": ("r.csv", b"Nom;Prenom;Numero\nDurand;Lea;1\n", "text/csv")}}
    # route -> roles allowed (everyone else: 401 without a token, 403 with the wrong one)
    table: list[tuple[str, str, set[str], dict[str, Any]]] = [
        ("POST", "/api/sessions", {"admin", "examiner"}, {"json": body}),
        ("GET", "/api/sessions", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}", {"admin", "examiner", "candidate"}, {}),
        ("GET", f"/api/sessions/{other}", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}/instructions", {"admin", "examiner", "candidate"}, {}),
        ("GET", f"/api/sessions/{other}/instructions", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}/events", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}/incidents", {"admin", "examiner", "candidate"}, {}),
        ("GET", f"/api/sessions/{other}/incidents", {"admin", "examiner"}, {}),
        ("GET", "/api/audit", {"admin", "examiner"}, {}),
        ("GET", "/api/results/export.csv", {"admin", "examiner"}, {}),
        ("GET", "/api/results/export.xlsx", {"admin", "examiner"}, {}),
        ("GET", "/api/scenarios", {"admin", "examiner", "instructor"}, {}),
        ("GET", "/api/scenarios/amp-stack/problems", {"admin", "examiner", "instructor"}, {}),
        ("POST", "/api/sittings", {"admin", "examiner"}, {"json": sitting}),
        ("GET", "/api/sittings", {"admin", "examiner"}, {}),
        ("GET", "/api/pools", {"admin", "examiner"}, {}),
        ("GET", f"/api/sittings/{planned}", {"admin", "examiner"}, {}),
        ("PATCH", f"/api/sittings/{planned}", {"admin", "examiner"}, {"json": {"room": "A"}}),
        ("PUT", f"/api/sittings/{planned}/candidates", {"admin", "examiner"}, roster),
        ("GET", f"/api/sittings/{planned}/slips.pdf", {"admin", "examiner"}, {}),
        ("GET", "/metrics", {"admin", "examiner", "instructor"}, {}),
    ]
    for method, path, allowed, kw in table:
        assert call(client, method, path, None, **kw) == 401, path
        for role, token in who.items():
            status = call(client, method, path, token, **kw)
            assert (status < 400) == (role in allowed), (method, path, role, status)
    # Routes on a session not ready or not graded: wrong roles are refused before any state
    # is looked at (403), right roles get the state's answer (409, 422...).
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/api/sessions/{other}/submit", {}),
        ("POST", f"/api/sessions/{other}/end", {}),
        ("GET", f"/api/sessions/{other}/result", {}),
        ("GET", f"/api/sessions/{other}/progress", {}),
        ("POST", f"/api/sessions/{other}/regrade", {}),
        ("GET", f"/api/sessions/{other}/recordings/web.cast", {}),
        ("GET", f"/api/sessions/{other}/report.html", {}),
        ("GET", f"/api/sessions/{other}/report.pdf", {}),
        ("POST", f"/api/sessions/{other}/report.pdf", {"json": {"password": "secret"}}),
        ("POST", f"/api/sessions/{other}/extend", {"json": {"minutes": 5, "reason": "panne"}}),
        ("POST", f"/api/sessions/{other}/nodes/web/restart", {}),
        ("GET", f"/api/sessions/{other}/exam-code", {}),
        ("POST", f"/api/sessions/{other}/exam-code", {}),
        ("POST", f"/api/sessions/{other}/incidents/1/credit", {"json": {"reason": "panne"}}),
        ("POST", f"/api/sittings/{planned}/cancel", {}),
        ("POST", f"/api/sittings/{planned}/reports.zip", {"json": {}}),
        ("POST", f"/api/sittings/{planned}/extend", {"json": {"minutes": 5, "reason": "panne"}}),
        ("POST", f"/api/sittings/{planned}/end", {}),
        ("POST", f"/api/sittings/{planned}/regrade", {}),
        (
            "POST",
            f"/api/sessions/{other}/overrides",
            {"json": {"criterion": "x", "score": 1, "justification": "vu en direct"}},
        ),
    ]
    for method, path, kw in changes:
        assert call(client, method, path, None, **kw) == 401, path
        for role, token in who.items():
            status = call(client, method, path, token, **kw)
            assert (status == 403) == (role not in {"admin", "examiner"}), (path, role, status)
    # Every API route of the app is in one of the two tables.
    tested = {
        (
            m,
            p.replace(sid, "{session_id}")
            .replace(other, "{session_id}")
            .replace(planned, "{sitting_id}")
            .replace("web.cast", "{node}.cast")
            .replace("export.csv", "export.{kind}")
            .replace("export.xlsx", "export.{kind}"),
        )
        for m, p, *_ in [*table, *changes]
    }
    tested.add(("GET", "/api/scenarios/{scenario_id}/problems"))
    tested.add(("POST", "/api/sessions/{session_id}/nodes/{node}/restart"))
    tested.add(("POST", "/api/sessions/{session_id}/incidents/{incident_id}/credit"))
    routes = {
        (method.upper(), path)
        for path, item in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
        if path != "/api/health"
    }
    assert len(routes) >= 13 and routes <= tested, routes - tested


def test_bad_requests_get_a_reason(client: TestClient) -> None:
    examiner = tokens(client)["examiner"]
    auth = {"Authorization": f"Bearer {examiner}"}
    unknown = client.post(
        "/api/sessions", json={"scenario": "../etc", "candidate": "x"}, headers=auth
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert client.post("/api/sessions", json={"candidate": "x"}, headers=auth).status_code == 422
    sid = client.post(
        "/api/sessions", json={"scenario": "amp-stack", "candidate": "x"}, headers=auth
    ).json()["id"]
    early = client.get(f"/api/sessions/{sid}/result", headers=auth)
    assert early.status_code == 409 and "not graded yet" in early.json()["detail"]
    assert client.post(f"/api/sessions/{sid}/submit", headers=auth).status_code == 409
    ended = client.post(f"/api/sessions/{sid}/end", headers=auth)  # before the lab is ready
    assert ended.status_code == 200 and ended.json()["state"] == "failed"
    assert client.post(f"/api/sessions/{sid}/end", headers=auth).status_code == 409
