"""Sittings through the real app and a real SQLite database: planned with their candidates
(typed or from a roster file), edited and cancelled until they start, their codes on paper;
started, their sessions carry the codes and open only at the sitting's time."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import SQLModel, select

from app.api.deps import COOKIE
from app.auth import sign_in_candidate
from app.clock import clock_end, first_deadline
from app.config import ROOT, Settings
from app.db import make_engine, migrate, unit_of_work
from app.errors import Conflict, Forbidden
from app.main import create_app
from app.models import LabSession, Result, Sitting, SittingCandidate, StartMode, State, utcnow
from app.sittings import service
from tests.unit.test_api_roles import NoLabs, tokens

PEOPLE = [
    {"last_name": "Nguyễn", "first_name": "Văn An", "number": "2026-001"},
    {"last_name": "Écrivain", "first_name": "Zoé", "number": "2026-002", "email": "z@ex.fr"},
    {"last_name": "O'Brien", "first_name": "Seán", "number": "2026-003"},
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, scenarios_dir=ROOT / "scenarios")
    app = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {tokens(test_client)['examiner']}"
        yield test_client


def _in(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def plan(client: TestClient, **changes: Any) -> Any:
    body = {"scenario": "amp-stack", "starts_at": _in(60), "room": "B12", "candidates": PEOPLE}
    return client.post("/api/sittings", json=body | changes)


def test_a_sitting_is_planned_with_a_code_for_each_candidate(client: TestClient) -> None:
    made = plan(client)
    assert made.status_code == 201, made.text
    sitting = made.json()
    assert sitting["state"] == "planned" and sitting["minutes"] == 90  # the subject's 1 h 30
    people = sitting["candidates"]
    assert [(p["last_name"], p["first_name"]) for p in people] == [
        ("Nguyễn", "Văn An"),
        ("Écrivain", "Zoé"),
        ("O'Brien", "Seán"),
    ]
    assert len({p["exam_code"] for p in people}) == 3 and {p["session_id"] for p in people} == {
        None
    }
    assert client.get(f"/api/sittings/{sitting['id']}").json() == sitting
    assert [s["id"] for s in client.get("/api/sittings").json()] == [sitting["id"]]


def test_bad_candidates_are_all_told_and_nothing_is_made(client: TestClient) -> None:
    people = [*PEOPLE, {"last_name": "Dupont", "first_name": "", "number": "2026-001"}]
    refused = plan(client, candidates=people)
    assert refused.status_code == 422
    assert refused.json()["detail"].splitlines() == [
        "candidate 4: empty first name",
        "candidate 4: duplicate candidate number 2026-001 (first on line 1)",
    ]
    assert plan(client, starts_at=_in(-5)).status_code == 422
    assert plan(client, scenario="nope").status_code == 404
    assert plan(client, start_mode="first_sign_in").status_code == 422  # no window
    assert client.get("/api/sittings").json() == []


def test_a_roster_file_replaces_the_candidates_or_changes_nothing(client: TestClient) -> None:
    sitting = plan(client).json()
    url = f"/api/sittings/{sitting['id']}/candidates"
    csv = "\ufeffNom;Prénom;N° candidat\nMüller;Éloïse;A1\nŁukasz;Żak;A2\n".encode()
    done = client.put(url, files={"roster": ("promo.csv", csv, "text/csv")})
    assert done.status_code == 200, done.text
    assert [p["number"] for p in done.json()["candidates"]] == ["A1", "A2"]
    codes = {p["exam_code"] for p in done.json()["candidates"]}
    bad = "Nom;Prénom;N° candidat\nMüller;Éloïse;A1\nDurand;Léa;A1\n".encode()
    refused = client.put(url, files={"roster": ("promo.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert (
        "promo.csv:3: duplicate candidate number A1 (first on line 2)" in refused.json()["detail"]
    )
    latin1 = "Nom;Prénom;N° candidat\nMüller;Éloïse;A1\n".encode("latin-1")
    assert client.put(url, files={"roster": ("old.csv", latin1, "text/csv")}).status_code == 422
    no_number = "Nom;Prénom\nMüller;Éloïse\n".encode()
    assert client.put(url, files={"roster": ("x.csv", no_number, "text/csv")}).status_code == 422
    kept = client.get(f"/api/sittings/{sitting['id']}").json()["candidates"]
    assert {p["exam_code"] for p in kept} == codes


def test_edit_and_cancel_until_it_starts(client: TestClient) -> None:
    sid = plan(client).json()["id"]
    edited = client.patch(f"/api/sittings/{sid}", json={"minutes": 120, "room": "C3"})
    assert (edited.json()["minutes"], edited.json()["room"]) == (120, "C3")
    assert client.patch(f"/api/sittings/{sid}", json={"starts_at": _in(-1)}).status_code == 422
    assert client.post(f"/api/sittings/{sid}/cancel").json()["state"] == "cancelled"
    assert client.post(f"/api/sittings/{sid}/cancel").status_code == 409
    assert client.patch(f"/api/sittings/{sid}", json={"room": "D"}).status_code == 409


def test_the_slips_hold_every_candidate_s_code(client: TestClient) -> None:
    sitting = plan(client).json()
    pdf = client.get(f"/api/sittings/{sitting['id']}/slips.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for person in sitting["candidates"]:
        assert person["exam_code"] in text and person["last_name"].upper() in text


def _started(client: TestClient, mode: StartMode, window: int = 0) -> tuple[str, list[str]]:
    sitting = plan(client, start_mode=mode.value, window_minutes=window).json()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    settings, catalog = client.app.state.settings, client.app.state.catalog  # type: ignore[attr-defined]
    ids = iter(f"s{i:011x}" for i in range(100))
    with unit_of_work(engine) as db:  # in one transaction, as the controller does
        found = service.find(db, sitting["id"])
        made = [lab.id for lab in service.start(db, catalog, settings, found, lambda: next(ids))]
    with unit_of_work(engine) as db:
        found = service.find(db, sitting["id"])
        assert found.state.value == "started" and found.started_at
        with pytest.raises(Conflict, match="is started: it can be edited no longer"):
            service.edit(db, catalog, found, room="C3")
        with pytest.raises(Conflict, match="is started: it cannot start"):
            service.start(db, catalog, settings, found, lambda: next(ids))
    assert len(made) == 3
    return sitting["id"], [p["exam_code"] for p in sitting["candidates"]]


def test_started_sessions_carry_the_codes_and_open_at_the_sitting_s_time(
    client: TestClient,
) -> None:
    sid, codes = _started(client, StartMode.scheduled)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        labs = list(db.exec(select(LabSession).where(LabSession.sitting_id == sid)))
        assert sorted(lab.exam_code for lab in labs) == sorted(codes)
        assert {lab.minutes for lab in labs} == {90} and all(lab.starts_at for lab in labs)
        assert all(r.session_id for r in db.exec(select(SittingCandidate)))
        with pytest.raises(Forbidden, match="this exam opens at"):
            sign_in_candidate(db, codes[0], service.sign_in)
        starts = labs[0].starts_at
        assert starts is not None
        later = starts.replace(tzinfo=UTC) + timedelta(seconds=1)
        service.sign_in(db, labs[0], later)  # at its time: open
    assert client.get(f"/api/sittings/{sid}").json()["state"] == "started"
    assert client.post(f"/api/sittings/{sid}/cancel").status_code == 409


def test_a_first_sign_in_starts_that_candidate_s_clock_within_the_window(
    client: TestClient,
) -> None:
    sid, _ = _started(client, StartMode.first_sign_in, window=30)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        first, second, *_ = db.exec(select(LabSession).where(LabSession.sitting_id == sid))
        assert first.starts_at is None
        opens = service.find(db, sid).starts_at.replace(tzinfo=UTC)
        service.sign_in(db, first, opens + timedelta(minutes=10))
        assert first.starts_at == opens + timedelta(minutes=10)
        with pytest.raises(Forbidden, match="the time to start this exam ended"):
            service.sign_in(db, second, opens + timedelta(minutes=31))


def test_a_session_never_signed_in_ends_unstarted_when_the_window_closes(
    client: TestClient,
) -> None:
    sid, _ = _started(client, StartMode.first_sign_in, window=30)
    engine, controller = client.app.state.engine, client.app.state.controller  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        opens = service.find(db, sid).starts_at.replace(tzinfo=UTC)
        first, second, third = db.exec(select(LabSession).where(LabSession.sitting_id == sid))
        for lab in (first, second, third):
            lab.state, lab.ready_at = State.ready, opens - timedelta(minutes=1)
            db.add(lab)
        service.sign_in(db, first, opens + timedelta(minutes=5))
    controller.ahead.start_clock(second, opens + timedelta(minutes=29))  # still open: waits
    controller.ahead.start_clock(second, opens + timedelta(minutes=31))
    controller.ahead.start_clock(third, opens + timedelta(minutes=31))
    with unit_of_work(engine) as db:
        states = [db.get(LabSession, lab.id) for lab in (first, second, third)]
    assert [lab.state for lab in states if lab] == [State.ready, State.ending, State.ending]
    assert states[1] and states[1].reason == "not started: no sign-in within the window"


def test_a_sitting_s_clock_runs_from_its_time_not_from_the_lab() -> None:
    ready = utcnow()
    alone = LabSession(id="a", scenario="x", candidate="c")
    assert clock_end(alone, ready, _Scenario()) == ready + timedelta(hours=2)
    early = LabSession(id="b", scenario="x", candidate="c", sitting_id="st", minutes=60)
    early.starts_at = ready + timedelta(minutes=10)
    assert first_deadline(early, ready, _Scenario()) is None  # the tick starts it at 10 min
    late = early.model_copy(update={"starts_at": ready - timedelta(minutes=3)})
    assert first_deadline(late, ready, _Scenario()) == ready + timedelta(minutes=60)
    unstarted = early.model_copy(update={"starts_at": None})
    assert first_deadline(unstarted, ready, _Scenario()) is None


class _Scenario:
    time_allowed = timedelta(hours=2)


def test_the_migrations_make_the_tables_the_models_describe(db_url: str) -> None:
    engine = make_engine(db_url)  # SQLite's, or PostgreSQL's under PRAXIS_TEST_DB=postgres
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def _grade(client: TestClient, session_id: str, score: float) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    criterion = {"id": "a", "title": {"fr": "A", "en": None}, "referential": None, "weight": 1.0}
    criterion |= {"score": score, "status": "passed", "message": "", "evidence": []}
    with unit_of_work(engine) as db:
        lab = db.get(LabSession, session_id)
        assert lab is not None
        lab.state, lab.graded_at = State.graded, utcnow()
        db.add(lab)
        report = {"criteria": [criterion | {"duration_ms": 1}]}
        db.add(
            Result(
                session_id=session_id,
                score=score * 100,
                points=score,
                max_points=1.0,
                report=report,
            )
        )


def test_the_results_zip_holds_each_graded_report_encrypted_and_the_cohort(
    client: TestClient,
) -> None:
    sid, _ = _started(client, StartMode.scheduled)
    people = client.get(f"/api/sittings/{sid}").json()["candidates"]
    _grade(client, people[0]["session_id"], 1.0)
    _grade(client, people[2]["session_id"], 0.5)
    reply = client.post(f"/api/sittings/{sid}/reports.zip", json={"password": "jury-2026"})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        names = archive.namelist()
        assert names == ["2026-001-Nguyễn-Văn_An.pdf", "2026-003-O_Brien-Seán.pdf", "resultats.csv"]
        pdf = PdfReader(io.BytesIO(archive.read(names[0])))
        assert pdf.is_encrypted and pdf.decrypt("jury-2026")
        assert len(archive.read("resultats.csv").decode("utf-8-sig").strip().splitlines()) == 3
    export = client.get("/api/results/export.csv", params={"sitting": sid})
    assert len(export.text.strip().splitlines()) == 3
    other = client.get("/api/results/export.csv", params={"sitting": "st-none"})
    assert len(other.text.strip().splitlines()) == 1  # the header alone


def test_a_code_typed_before_the_sitting_opens_says_when_it_opens(client: TestClient) -> None:
    _, codes = _started(client, StartMode.scheduled)
    del client.headers["Authorization"]  # a candidate's browser
    form = client.get("/exam")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    refused = client.post("/exam", data={"code": codes[0], "csrf": token[1]})
    assert refused.status_code == 403
    assert "Cette épreuve ouvre le " in refused.text


def _browser(client: TestClient) -> str:
    """The examiner's browser (signed in by cookie), and its forms' CSRF token."""
    client.cookies.set(COOKIE, client.headers.pop("Authorization").removeprefix("Bearer "))
    page = client.get("/staff/sittings/new")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found[1]


def test_an_examiner_plans_a_sitting_in_the_browser_from_a_roster(client: TestClient) -> None:
    token = _browser(client)
    assert "Aucune épreuve planifiée." in client.get("/staff/sittings").text
    soon = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": token, "scenario": "amp-stack", "starts_at": soon, "room": "B12"}
    roster = "Nom;Prénom;N° candidat\nNguyễn;Văn An;1\nÉcrivain;Zoé;2\nO'Brien;Seán;3\n".encode()
    made = client.post(
        "/staff/sittings",
        data=form,
        files={"roster": ("promo.csv", roster, "text/csv")},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"])
    assert page.status_code == 200
    assert page.text.count('class="exam-code"') == 3 and "Seán O&#39;BRIEN" in page.text
    listed = client.get("/staff/sittings").text
    assert made.headers["location"].rsplit("/", 1)[1] in listed and "planifiée" in listed
    sitting_id = made.headers["location"].rsplit("/", 1)[1]
    zipped = client.post(f"/staff/sittings/{sitting_id}/reports.zip", data={"csrf": token})
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    cancelled = client.post(f"/staff/sittings/{sitting_id}/cancel", data={"csrf": token})
    assert cancelled.status_code == 200 and 'data-state="cancelled"' in cancelled.text


def test_a_bad_form_shows_every_problem_and_makes_nothing(client: TestClient) -> None:
    token = _browser(client)
    soon = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    typed = "Dupont; Léa; 1\nMartin; ; 1\n"
    form = {"csrf": token, "scenario": "amp-stack", "starts_at": soon, "typed": typed}
    refused = client.post("/staff/sittings", data=form)
    assert refused.status_code == 422
    assert "line 2: empty first name" in refused.text
    assert "line 2: duplicate candidate number 1 (first on line 1)" in refused.text
    assert "Martin; ; 1" in refused.text  # what was typed is kept, to fix
    past = client.post(
        "/staff/sittings", data=form | {"starts_at": "2020-01-01T09:00", "typed": "A; B; 1"}
    )
    assert past.status_code == 422 and "the start time is past" in past.text
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        assert db.exec(select(Sitting)).first() is None


def _run(client: TestClient, session_id: str) -> None:
    """The lab ready and its clock running, as the controller leaves it."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        lab = db.get(LabSession, session_id)
        assert lab is not None
        lab.state, lab.deadline = State.ready, utcnow() + timedelta(minutes=30)
        db.add(lab)


def test_every_candidate_extended_ended_and_graded_again_at_once(client: TestClient) -> None:
    sid, _ = _started(client, StartMode.scheduled)
    ids = [p["session_id"] for p in client.get(f"/api/sittings/{sid}").json()["candidates"]]
    _run(client, ids[0])
    _run(client, ids[1])
    _grade(client, ids[2], 1.0)
    before = client.get(f"/api/sessions/{ids[0]}").json()["deadline"]
    more = client.post(f"/api/sittings/{sid}/extend", json={"minutes": 15, "reason": "panne"})
    assert more.status_code == 200, more.text
    assert more.json()["done"] == ids[:2] and list(more.json()["skipped"]) == [ids[2]]
    after = client.get(f"/api/sessions/{ids[0]}").json()["deadline"]
    gained = datetime.fromisoformat(after) - datetime.fromisoformat(before)
    assert gained == timedelta(minutes=15)
    audit = client.get("/api/audit", params={"session_id": ids[1]}).json()
    assert [(a["action"], a["detail"]["reason"]) for a in audit] == [("extend", "panne")]
    assert client.post(f"/api/sittings/{sid}/extend", json={"minutes": 5}).status_code == 422

    ended = client.post(f"/api/sittings/{sid}/end").json()
    assert ended["done"] == ids[:2] and "already ended" in ended["skipped"][ids[2]]
    assert {client.get(f"/api/sessions/{i}").json()["state"] for i in ids[:2]} == {"ending"}
    again = client.post(f"/api/sittings/{sid}/regrade").json()
    assert again["done"] == [ids[2]] and set(again["skipped"]) == set(ids[:2])
    assert client.get(f"/api/sessions/{ids[2]}").json()["state"] == "grading"

    token = _browser(client)  # the same from the sitting's page, which says how many
    rows = client.get(f"/staff/fragments/sittings/{sid}").text  # its live table
    assert rows.count("<tr ") == 3 and 'data-state="ending"' in rows and "corrigée" not in rows
    reply = client.post(f"/staff/sittings/{sid}/everyone/end", data={"csrf": token})
    assert reply.status_code == 200
    assert "Terminer toutes les sessions : 0 session(s) ; sans effet sur 3" in reply.text
    refused = client.post(f"/staff/sittings/{sid}/everyone/extend", data={"minutes": "5"})
    assert refused.status_code == 403  # no CSRF token
