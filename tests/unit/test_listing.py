"""The history's filters, sort and pages run in SQL; times read as the candidate's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.auth import create_user
from app.db import unit_of_work
from app.models import LabSession, Result, Role, State
from app.web.listing import PAGE_SIZE, HistoryQuery, clock, history
from tests.unit.test_api_roles import client as client

PARIS = ZoneInfo("Europe/Paris")


def test_clock_is_the_candidates() -> None:
    assert [clock(s) for s in (None, 0, 59.6, 5662, 3600)] == [
        "",
        "00:00",
        "00:59",
        "1:34:22",
        "1:00:00",
    ]


def _labs(client: TestClient) -> str:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        token = create_user(db, "eve", Role.examiner)
        for n in range(PAGE_SIZE + 2):
            db.add(
                LabSession(
                    id=f"h{n:03d}",
                    scenario="amp-stack",
                    candidate=f"Candidat {n}" if n else "Zoé 100%_x",
                    state=State.graded if n < 3 else State.torn_down,
                    # 23:30 UTC on 1 March is 2 March in Paris
                    created_at=datetime(2025, 3, 1 + n % 3, 23, 30, tzinfo=UTC),
                )
            )
        db.flush()
        for n, score in ((1, 80.0), (2, 20.0)):
            db.add(Result(session_id=f"h{n:03d}", score=score, points=0, max_points=1, report={}))
    return token


def test_history_filters_sorts_and_pages(client: TestClient) -> None:
    _labs(client)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        page, total = history(db, HistoryQuery(), PARIS)
        assert total == PAGE_SIZE + 2 and len(page) == PAGE_SIZE
        assert len(history(db, HistoryQuery(page=2), PARIS)[0]) == 2
        # LIKE's wildcards are searched as text; the session id is searched too
        assert [lab.id for lab in history(db, HistoryQuery(q="100%_"), PARIS)[0]] == ["h000"]
        assert [lab.id for lab in history(db, HistoryQuery(q="h05"), PARIS)[0]] == ["h050", "h051"]
        graded = history(db, HistoryQuery(state="graded", sort="score", order="desc"), PARIS)[0]
        assert [lab.id for lab in graded] == ["h001", "h002", "h000"]  # no score: last
        day = history(db, HistoryQuery(since="2025-03-02", until="2025-03-02"), PARIS)[1]
        assert day == len(range(0, PAGE_SIZE + 2, 3))  # local dates, not UTC ones


def test_history_page_refuses_bad_filters(client: TestClient) -> None:
    token = _labs(client)
    client.cookies.set("praxis", token)
    page = client.get("/staff/history?q=zo&sort=score&order=asc")
    assert page.status_code == 200 and "Zoé 100%_x" in page.text and "Candidat 1<" not in page.text
    assert client.get("/staff/audit?session=h001").status_code == 200
    for bad in ("sort=drop", "state=evil", "since=yesterday", "page=0"):
        reply = client.get(f"/staff/history?{bad}")
        assert reply.status_code == 422, bad
    client.cookies.clear()
    assert client.get("/staff/history", follow_redirects=False).headers["location"] == "/login"


def test_search_ignores_the_case_of_accented_letters_on_postgresql_only(
    client: TestClient,
) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        db.add(LabSession(id="e1", scenario="amp-stack", candidate="ÉLOÏSE", state=State.graded))
    with unit_of_work(engine) as db:
        found = [lab.id for lab in history(db, HistoryQuery(q="éloïse"), PARIS)[0]]
    # SQLite's lower() folds ASCII letters only; PostgreSQL's (UTF-8) every letter.
    assert found == (["e1"] if engine.dialect.name == "postgresql" else [])
