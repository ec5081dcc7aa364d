"""Every route against every role, through the real app and a real SQLite database.

The lab driver is a stub here (the boundary); the controller does not run.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    # route -> roles allowed (everyone else: 401 without a token, 403 with the wrong one)
    table: list[tuple[str, str, set[str], dict[str, Any]]] = [
        ("POST", "/api/sessions", {"admin", "examiner"}, {"json": body}),
        ("GET", "/api/sessions", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}", {"admin", "examiner", "candidate"}, {}),
        ("GET", f"/api/sessions/{other}", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}/instructions", {"admin", "examiner", "candidate"}, {}),
        ("GET", f"/api/sessions/{other}/instructions", {"admin", "examiner"}, {}),
        ("GET", f"/api/sessions/{sid}/events", {"admin", "examiner"}, {}),
        ("GET", "/api/scenarios", {"admin", "examiner", "instructor"}, {}),
        ("GET", "/api/scenarios/amp-stack/problems", {"admin", "examiner", "instructor"}, {}),
    ]
    for method, path, allowed, kw in table:
        assert call(client, method, path, None, **kw) == 401, path
        for role, token in who.items():
            status = call(client, method, path, token, **kw)
            assert (status < 400) == (role in allowed), (method, path, role, status)
    # Routes that change a session: wrong roles are refused before any state is looked at.
    for path, allowed in (
        (f"/api/sessions/{other}/submit", {"admin", "examiner"}),
        (f"/api/sessions/{other}/end", {"admin", "examiner"}),
        (f"/api/sessions/{other}/result", {"admin", "examiner"}),
    ):
        for role, token in who.items():
            status = call(client, "POST" if not path.endswith("result") else "GET", path, token)
            assert (status == 403) == (role not in allowed), (path, role, status)
    route_paths = {getattr(r, "path", "") for r in client.app.routes}  # type: ignore[attr-defined]
    covered = {
        p.replace(sid, "{session_id}").replace(other, "{session_id}") for _, p, _, _ in table
    }
    covered |= {
        "/api/sessions/{session_id}/submit",
        "/api/sessions/{session_id}/end",
        "/api/sessions/{session_id}/result",
        "/api/scenarios/{scenario_id}/problems",
    }
    api_routes = {p for p in route_paths if p.startswith("/api/") and p != "/api/health"}
    assert api_routes <= covered, api_routes - covered


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
