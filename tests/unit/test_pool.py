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
from labs.driver import LabError
from labs.scenario import tree_hash
from tests.unit.test_api_roles import NoLabs, tokens


class Recorded(NoLabs):
    """Records each password set; refuses for the labs in `broken`."""

    def __init__(self) -> None:
        self.passwords: dict[str, tuple[str, str]] = {}
        self.broken: set[str] = set()

    def set_password(self, session_id: str, user: str, password: str) -> None:
        if session_id in self.broken:
            raise LabError("the node does not answer")
        self.passwords[session_id] = (user, password)


@pytest.fixture
def driver() -> Recorded:
    return Recorded()


@pytest.fixture
def client(tmp_path: Path, driver: Recorded) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, scenarios_dir=ROOT / "scenarios", pools={"amp-stack": 2})
    app = create_app(settings, driver=driver, run_controller=False)  # type: ignore[arg-type]
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


def test_a_walk_in_takes_a_ready_pooled_lab_with_a_password_of_its_own(
    client: TestClient, driver: Recorded
) -> None:
    made = _upkeep(client).made
    assert len(made) == 2 and _upkeep(client).made == []  # being built: counted
    assert client.get("/api/sessions").json() == []  # no one's session
    assert client.get(f"/api/sessions/{made[0]}").status_code == 404
    _ready(client, *made)
    [standing] = client.get("/api/pools").json()
    assert standing["scenario"] == "amp-stack" and standing["sitting"] is None
    assert standing["wanted"] == 2 and sorted(standing["ready"]) == sorted(made)

    reply = client.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Léa"})
    assert reply.status_code == 202, reply.text
    session = reply.json()
    assert session["id"] in made and session["state"] == "ready"
    assert driver.passwords[session["id"]] == ("candidat", session["access"]["password"])
    deadline = datetime.fromisoformat(session["deadline"]).replace(tzinfo=UTC)
    assert timedelta(minutes=89) < deadline - datetime.now(UTC) <= timedelta(minutes=90)
    assert [s["id"] for s in client.get("/api/sessions").json()] == [session["id"]]
    with unit_of_work(_state(client).engine) as db:
        lab = db.get(LabSession, session["id"])
        assert lab is not None and not lab.pooled and lab.candidate == "Léa"
        token, opened = sign_in_candidate(db, session["access"]["exam_code"])
        assert opened == session["id"] and token

    assert len(_upkeep(client).made) == 1  # the pool made whole again
    other = [i for i in made if i != session["id"]]
    driver.broken.add(other[0])  # its password cannot be set: put aside, the next is built
    cold = client.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Zoé"})
    assert cold.json()["state"] == "requested" and cold.json()["id"] not in made
    with unit_of_work(_state(client).engine) as db:
        broken = db.get(LabSession, other[0])
        assert broken is not None and broken.state is State.failed
        assert "broken at hand-out" in broken.reason


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
    client: TestClient, driver: Recorded
) -> None:
    _state(client).settings.pools = {}
    people = [
        {"last_name": "Nguyễn", "first_name": "Văn An", "number": "1"},
        {"last_name": "Écrivain", "first_name": "Zoé", "number": "2"},
    ]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    body = {"scenario": "amp-stack", "starts_at": starts.isoformat(), "candidates": people}
    sitting = client.post("/api/sittings", json=body).json()
    assert _upkeep(client).made == []  # 30 min ahead: beyond the lead time (15 min)
    reserved = _upkeep(client, starts - timedelta(minutes=14)).made
    assert len(reserved) == 2
    _ready(client, *reserved)
    state = _state(client)
    with unit_of_work(state.engine) as db:
        lead = timedelta(minutes=15)
        assert sittings.due(db, state.catalog, starts - timedelta(minutes=2), lead) == []
        [due] = sittings.due(db, state.catalog, starts - timedelta(seconds=59), lead)
        with pytest.raises(Forbidden, match="this exam opens at"):  # no session yet
            sign_in_candidate(
                db, sitting["candidates"][0]["exam_code"], sittings.sign_in, sittings.not_yet
            )
        ids = iter(["cold00000001", "cold00000002"])
        args = (db, state.catalog, state.settings, due, lambda: next(ids), driver)
        made = [sittings.start_next(*args), sittings.start_next(*args)]
        assert sittings.start_next(*args) is None and due.state.value == "started"
        assert sorted(lab.id for lab in made if lab) == sorted(reserved)
        for lab in made:
            assert lab and lab.state is State.ready and lab.deadline is None
            assert lab.starts_at and as_utc(lab.starts_at) == starts
    assert set(driver.passwords) == set(reserved)
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
