"""The pool through the real app and a real SQLite database (labs are never built here: the
driver is a recording stand-in at the engine's boundary): what is made ahead, what a hand-out
gives, what is put aside."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app import pool
from app.auth import sign_in_candidate
from app.catalog import Catalog
from app.config import ROOT, Settings
from app.db import unit_of_work
from app.errors import Forbidden
from app.main import create_app
from app.models import LabSession, State, utcnow
from app.reports.words import as_utc
from app.sittings import service as sittings
from labs.scenario import tree_hash
from tests.unit.test_api_roles import NoLabs, tokens


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, scenarios_dir=ROOT / "scenarios", pools={"amp-stack": 2})
    app = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {tokens(test_client)['examiner']}"
        yield test_client


def _state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def _upkeep(client: TestClient, now: datetime | None = None) -> pool.Upkeep:
    state = _state(client)
    ids = iter(f"p{i:011x}" for i in range(1000))
    with unit_of_work(state.engine) as db:
        taken = {lab.id for lab in db.exec(select(LabSession))}
        fresh = (i for i in ids if i not in taken)
        return pool.upkeep(db, state.catalog, state.settings, now or utcnow(), lambda: next(fresh))


def _ready(client: TestClient, *ids: str) -> None:
    """As the controller leaves a built lab (pooled: no clock)."""
    with unit_of_work(_state(client).engine) as db:
        for session_id in ids:
            lab = db.get(LabSession, session_id)
            assert lab is not None
            lab.state, lab.ready_at = State.ready, utcnow()
            lab.nodes = {"web": {"address": "10.213.0.2", "ref": "x", "port": 22001}}
            db.add(lab)


def test_a_walk_in_takes_a_ready_pooled_lab_with_secrets_of_its_own(client: TestClient) -> None:
    made = _upkeep(client).made
    assert len(made) == 2 and _upkeep(client).made == []  # being built: counted
    assert client.get("/api/sessions").json() == []  # no one's session
    assert client.get(f"/api/sessions/{made[0]}").status_code == 404
    _ready(client, *made)
    [standing] = client.get("/api/pools").json()
    assert standing["scenario"] == "amp-stack" and standing["sitting"] is None
    assert standing["wanted"] == 2 and sorted(standing["ready"]) == sorted(made)
    with unit_of_work(_state(client).engine) as db:  # made for each lab alone, shown to no one
        secrets = {i: _row(db, i).candidate_password for i in made}
        keys = {_row(db, i).grader_key for i in made}
    assert len(set(secrets.values())) == len(keys) == 2

    reply = client.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Léa"})
    assert reply.status_code == 202, reply.text
    session = reply.json()
    assert session["id"] == made[0] and session["state"] == "ready"  # the oldest first
    assert session["access"]["password"] == secrets[session["id"]]
    deadline = datetime.fromisoformat(session["deadline"]).replace(tzinfo=UTC)
    assert timedelta(minutes=89) < deadline - datetime.now(UTC) <= timedelta(minutes=90)
    assert [s["id"] for s in client.get("/api/sessions").json()] == [session["id"]]
    with unit_of_work(_state(client).engine) as db:
        lab = _row(db, session["id"])
        assert not lab.pooled and lab.candidate == "Léa"
        token, opened = sign_in_candidate(db, session["access"]["exam_code"])
        assert opened == session["id"] and token

    assert len(_upkeep(client).made) == 1  # the pool made whole again
    second = client.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Zoé"})
    assert second.json()["id"] == made[1]
    cold = client.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Ana"})
    assert cold.json()["state"] == "requested" and cold.json()["id"] not in made  # none ready
    assert len(_upkeep(client).made) == 1  # a lab handed out is never pooled again


def _row(db: Any, session_id: str) -> LabSession:
    lab = db.get(LabSession, session_id)
    assert lab is not None
    return lab


def test_labs_no_longer_wanted_are_named_for_removal(client: TestClient) -> None:
    made = _upkeep(client).made
    _ready(client, *made)
    _state(client).settings.pools = {"amp-stack": 1}
    assert _upkeep(client).unwanted == [made[1]]  # the newest goes first
    _state(client).settings.pools = {}
    assert sorted(_upkeep(client).unwanted) == sorted(made)
    with unit_of_work(_state(client).engine) as db:  # the scenario changed since they were made
        for lab in db.exec(select(LabSession)):
            lab.scenario_version = "an older version"
            db.add(lab)
    _state(client).settings.pools = {"amp-stack": 2}
    again = _upkeep(client)
    assert sorted(again.unwanted) == sorted(made) and len(again.made) == 2


def test_a_sitting_reserves_a_lab_per_candidate_and_hands_them_out_at_its_time(
    client: TestClient,
) -> None:
    _state(client).settings.pools = {}
    people = [
        {"last_name": "Nguyễn", "first_name": "Văn An", "number": "1"},
        {"last_name": "Écrivain", "first_name": "Zoé", "number": "2"},
    ]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    body = {"scenario": "amp-stack", "starts_at": starts.isoformat(), "candidates": people}
    sitting = client.post("/api/sittings", json=body).json()
    assert _upkeep(client).made == []  # 30 min ahead: beyond the lead time (nothing built
    # here yet: the configured 15 min)
    reserved = _upkeep(client, starts - timedelta(minutes=14)).made
    assert len(reserved) == 2
    _ready(client, *reserved)
    state = _state(client)
    with unit_of_work(state.engine) as db:
        assert sittings.due(db, starts - timedelta(minutes=2)) == []
        [due] = sittings.due(db, starts - timedelta(seconds=59))
        with pytest.raises(Forbidden, match="this exam opens at"):  # no session yet
            sign_in_candidate(
                db, sitting["candidates"][0]["exam_code"], sittings.sign_in, sittings.not_yet
            )
        ids = iter(["cold00000001", "cold00000002"])
        made = sittings.start(db, state.catalog, state.settings, due, lambda: next(ids))
        assert due.state.value == "started"
        assert sorted(lab.id for lab in made) == sorted(reserved)
        for lab in made:
            assert lab.state is State.ready and lab.deadline is None and not lab.pooled
            assert lab.starts_at and as_utc(lab.starts_at) == starts
    assert _upkeep(client).made == []  # started: no more labs for it


def test_a_scenario_s_version_is_hashed_again_only_when_a_file_changed(tmp_path: Path) -> None:
    folder = tmp_path / "quick"
    shutil.copytree(ROOT / "tests" / "integration" / "scenarios" / "quick", folder)
    catalog = Catalog(tmp_path)
    first = catalog.version("quick")
    assert catalog.version("quick") == first == tree_hash(folder)
    (folder / "instructions.fr.md").write_text("Une autre consigne.\n")
    assert catalog.version("quick") == tree_hash(folder) != first
    script = folder / "solution" / "web.sh"
    script.chmod(script.stat().st_mode ^ 0o100)  # a mode alone changes the version too
    assert catalog.version("quick") == tree_hash(folder)


def test_a_sitting_s_lead_time_is_measured_from_this_host_s_builds(client: TestClient) -> None:
    state, t0 = _state(client), utcnow()
    with unit_of_work(state.engine) as db:
        assert pool.lead(db, state.settings, "amp-stack", 30) == timedelta(minutes=15)  # unknown
        builds = [(0, 12), (2, 25), (5, 30), (100, 104)]  # a batch of 3 in 30 s, then one in 4 s
        for i, (made, ready) in enumerate(builds):
            lab = LabSession(
                id=f"b{i:011x}", scenario="amp-stack", candidate="c", state=State.ready
            )
            lab.created_at, lab.ready_at = (
                t0 + timedelta(seconds=made),
                t0 + timedelta(seconds=ready),
            )
            db.add(lab)
    with unit_of_work(state.engine) as db:
        # the slowest pace, 10 s a lab, twice over, plus a failed build's wait and the hand-out
        assert pool.lead(db, state.settings, "amp-stack", 30) == timedelta(minutes=12)
        assert pool.lead(db, state.settings, "amp-stack", 3) == timedelta(minutes=3)
