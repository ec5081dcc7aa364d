"""The staff pages' live tables: what a row shows (progress, machines, clock, grade), and the
engine asked at most once per poll period whoever polls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.deps import COOKIE
from app.auth import create_user
from app.config import ROOT, Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import (
    LabSession,
    Result,
    Role,
    Sitting,
    SittingCandidate,
    SittingState,
    State,
    utcnow,
)
from app.progress import Progress


class Engine:
    """The lab driver's boundary: every lab's node states, and how often it was asked."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, str]] = {}
        self.asked = 0
        self.asked_one = 0  # one session's states

    def all_node_states(self) -> dict[str, dict[str, str]]:
        self.asked += 1
        return {session: dict(nodes) for session, nodes in self.states.items()}

    def node_states(self, session_id: str) -> dict[str, str]:
        self.asked_one += 1
        return self.states.get(session_id, {})

    def sessions(self) -> set[str]:
        return set()


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def client(tmp_path: Path, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, scenarios_dir=ROOT / "scenarios")
    app = create_app(settings, driver=engine, run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        with unit_of_work(app.state.engine) as db:
            test_client.cookies.set(COOKIE, create_user(db, "eve", Role.examiner))
        yield test_client


def _lab(session_id: str, state: State, **fields: object) -> LabSession:
    now = utcnow()
    return LabSession(
        id=session_id,
        scenario="amp-stack",
        state=state,
        **{"candidate": f"Candidat {session_id}", "ready_at": now, **fields},  # type: ignore[arg-type]
    )


def _add(client: TestClient, *rows: object) -> None:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        for row in rows:
            db.add(row)
            db.flush()


def test_a_dashboard_row_shows_clock_progress_grade_and_machines(
    client: TestClient, engine: Engine
) -> None:
    now = utcnow()
    running = _lab("run", State.ready, deadline=now + timedelta(minutes=30))
    graded = _lab("done", State.graded, teardown_after=now + timedelta(hours=1))
    _add(
        client,
        running,
        graded,
        Result(session_id="done", score=75.0, points=3, max_points=4, report={"criteria": []}),
    )
    engine.states = {"run": {"web": "exited"}, "done": {"web": "exited"}}
    watch = client.app.state.controller.progress  # type: ignore[attr-defined]
    watch.seen["run"] = Progress(now, {"packages": "passed", "vhost": "failed"})
    watch.seen["done"] = watch.seen["run"]  # ended since its last preview, not yet forgotten

    page = client.get("/staff/fragments/sessions").text
    done, run = page.split("<tr ")[1:]  # newest first
    assert done.startswith('data-session="done"') and run.startswith('data-session="run"')
    assert re.search(r'class="countdown" data-left="(1799|1800)"', run)  # seconds left
    assert '<span title="packages — ' in run and "1 / 2</span>" in run
    assert 'class="node exited down"' in run and "⚠ web" in run  # running: an incident
    assert re.search(r'class="score">\d+,\d\u00a0%</td>', done)
    assert 'class="node frozen"' in done  # ended: its machines frozen, not down
    assert '<td class="progress"></td>' in done  # the exam's only: not once it ended
    assert "Installer, configurer et sécuriser un serveur AMP" in run
    assert client.get("/api/sessions/run/progress").json()["held"] == ["packages"]
    assert client.get("/api/sessions/done/progress").status_code == 404


def test_the_engine_is_asked_once_per_poll_period_whoever_polls(
    client: TestClient, engine: Engine
) -> None:
    _add(client, _lab("run", State.ready, deadline=utcnow() + timedelta(minutes=30)))
    for _ in range(3):  # three examiners' polls within the period
        assert client.get("/staff/fragments/sessions").status_code == 200
    assert engine.asked == 1
    watch = client.app.state.controller.watch  # type: ignore[attr-defined]
    at, asked_at, states = watch._seen
    watch._seen = (at - 3, asked_at, states)  # older than the poll period
    client.get("/staff/fragments/sessions")
    assert engine.asked == 2


def test_a_session_s_status_takes_the_last_look_only_if_taken_since_its_lab_was_made(
    client: TestClient, engine: Engine
) -> None:
    web = {"web": {"address": "10.0.0.2"}}
    _add(client, _lab("run", State.ready, nodes=web))
    engine.states = {"run": {"web": "running"}, "new": {"web": "created"}}  # "new" being made
    for _ in range(3):  # the candidate's page and two examiners'
        assert _node_state(client, "run") == "running"
    assert (engine.asked, engine.asked_one) == (1, 0)

    # Made ready after that look: what the look saw of it is stale.
    _add(client, _lab("new", State.ready, nodes=web, ready_at=utcnow() + timedelta(seconds=1)))
    engine.states["new"] = {"web": "running"}
    assert _node_state(client, "new") == "running"
    assert (engine.asked, engine.asked_one) == (1, 1)


def _node_state(client: TestClient, session_id: str) -> str:
    nodes = client.get(f"/api/sessions/{session_id}").json()["nodes"]
    return str(nodes[0]["state"])


def test_a_sitting_row_without_a_session_yet_has_empty_cells(client: TestClient) -> None:
    start = utcnow()
    sitting = Sitting(
        id="s1", scenario="amp-stack", starts_at=start, minutes=60, state=SittingState.started
    )
    waiting = _lab("w", State.ready, sitting_id="s1")  # ready, its clock not started
    _add(
        client,
        sitting,
        waiting,
        SittingCandidate(sitting_id="s1", last_name="Roy", first_name="Ana", number="1"),
        SittingCandidate(
            sitting_id="s1", last_name="Lin", first_name="Bo", number="2", session_id="w"
        ),
    )
    page = client.get("/staff/fragments/sittings/s1").text
    no_lab, with_lab = page.split('data-number="2"')
    assert '<td class="left"></td><td class="progress"></td>' in no_lab and "ROY" in no_lab
    assert (
        'data-state="ready">prête, attend le début' in with_lab
        and 'href="/staff/sessions/w"' in with_lab
    )


def test_a_kept_row_follows_its_clock_and_its_changes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are kept rendered (app.web.row_cache): the clock is still written at each poll, and
    any change the row shows renders it again."""
    assert "Aucune session." in client.get("/staff/fragments/sessions").text
    now = utcnow()
    name = 'Eve <praxis-clock/> "O\'Neil"'  # a name holding the clock's mark
    _add(client, _lab("run", State.ready, deadline=now + timedelta(minutes=30), candidate=name))

    def poll() -> str:
        return client.get("/staff/fragments/sessions").text

    first = poll()
    assert re.search(r'data-left="(1799|1800)"', first) and "&lt;praxis-clock/&gt;" in first
    monkeypatch.setattr("app.web.live.utcnow", lambda: now + timedelta(minutes=10))
    assert re.search(r'data-left="(1199|1200)">20:0\d</span>', poll())  # the same row, kept

    watch = client.app.state.controller.progress  # type: ignore[attr-defined]
    watch.seen["run"] = Progress(now, {"packages": "passed", "vhost": "failed"})
    assert "1 / 2</span>" in poll()
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        lab = db.get(LabSession, "run")
        assert lab is not None
        lab.state = State.grading
    graded = poll()
    assert 'class="state-grading"' in graded and "countdown" not in graded
