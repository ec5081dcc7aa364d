"""Incident bookkeeping: one row per outage, the time given back once and audited, and the
jury report saying that a node was down when the lab ended."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import select

from app.auth import create_user
from app.db import unit_of_work
from app.incidents import incidents_of, record_down, record_up
from app.models import AuditEntry, Event, Incident, LabSession, Role, State, utcnow
from app.reports.incidents import cause_words
from app.reports.words import as_utc
from tests.unit.test_api_roles import client as client
from tests.unit.test_overrides import graded_session


def running_session(client: TestClient) -> tuple[LabSession, dict[str, str]]:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        token = create_user(db, "eve", Role.examiner)
        lab = LabSession(
            id="r1",
            scenario="amp-stack",
            candidate="Zoé",
            state=State.ready,
            deadline=utcnow() + timedelta(minutes=30),
            nodes={"web": {"address": "10.0.0.2", "port": None}},
        )
        db.add(lab)
    return lab, {"Authorization": f"Bearer {token}"}


def test_one_incident_per_outage_with_its_history(client: TestClient) -> None:
    lab, _ = running_session(client)
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        assert record_down(db, lab, "web", "exited, exit code 137") is not None
        assert record_down(db, lab, "web", "exited, exit code 137") is None  # the next tick
        assert record_up(db, lab, "web", "restarted by the examiner") is not None
        assert record_up(db, lab, "web", "again") is None
        assert record_down(db, lab, "web", "removed") is not None  # a second outage
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        rows = incidents_of(db, lab.id)
        events = [e.detail for e in db.exec(select(Event).where(Event.session_id == lab.id))]
    assert [(i.cause, i.up_at is None) for i in rows] == [
        ("exited, exit code 137", False),
        ("removed", True),
    ]
    assert events[0] == "incident: node web down (exited, exit code 137)"
    assert events[1].startswith("incident: node web back after ")
    assert len(events) == 3


def test_time_lost_is_given_back_once_and_audited(client: TestClient) -> None:
    lab, auth = running_session(client)
    assert lab.deadline is not None
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        down_at = utcnow() - timedelta(seconds=100)
        db.add(Incident(session_id=lab.id, node="web", cause="x", down_at=down_at))
        db.add(Incident(session_id=lab.id, node="web", cause="y", down_at=down_at))
    url = f"/api/sessions/{lab.id}/incidents"
    listed = client.get(url, headers=auth).json()
    assert [i["lost_seconds"] >= 100 for i in listed] == [True, True]

    given = client.post(f"{url}/1/credit", json={"reason": "panne du nœud"}, headers=auth)
    assert given.status_code == 200, given.text
    assert 100 <= given.json()["credited_seconds"] <= 110  # the outage, as measured
    again = client.post(f"{url}/1/credit", json={"reason": "encore"}, headers=auth)
    assert again.status_code == 409 and "already" in again.json()["detail"]
    exact = client.post(
        f"{url}/2/credit", json={"seconds": 30, "reason": "panne bis"}, headers=auth
    )
    assert exact.json()["credited_seconds"] == 30, exact.text
    missing = client.post(f"{url}/9/credit", json={"reason": "nope"}, headers=auth)
    assert missing.status_code == 404

    deadline = client.get(f"/api/sessions/{lab.id}", headers=auth).json()["deadline"]
    moved = as_utc(datetime.fromisoformat(deadline)) - as_utc(lab.deadline)
    assert timedelta(seconds=130) <= moved <= timedelta(seconds=140)
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        audits = list(db.exec(select(AuditEntry).where(AuditEntry.action == "credit")))
    first = audits[0]
    assert (first.actor, first.detail["node"], first.detail["reason"]) == (
        "eve",
        "web",
        "panne du nœud",
    )
    assert len(audits) == 2


def test_restart_is_refused_outside_a_running_exam(client: TestClient) -> None:
    sid, auth = graded_session(client)
    refused = client.post(f"/api/sessions/{sid}/nodes/web/restart", headers=auth)
    assert refused.status_code == 409 and "graded" in refused.json()["detail"]


def test_the_report_says_a_node_was_down_when_the_lab_ended(client: TestClient) -> None:
    sid, auth = graded_session(client)
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        db.add(Incident(session_id=sid, node="web", cause="exit:137"))
    pdf = client.get(f"/api/sessions/{sid}/report.pdf", headers=auth)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    assert "Incident : machine web arrêtée depuis" in text
    assert "(arrêtée (code de sortie 137 : processus tué))" in text
    assert "toujours arrêtée à la fin de l'épreuve" in text
    html = client.get(f"/api/sessions/{sid}/report.html?lang=en", headers=auth).text
    assert "Incident: node web down since" in html and "still down when the exam ended" in html
    assert "stopped (exit code 137: process killed)" in html
    assert "exit:137" not in html


@pytest.mark.parametrize(
    ("cause", "lang", "words"),
    [
        ("exit:137", "fr", "arrêtée (code de sortie 137 : processus tué)"),
        ("exit:143", "en", "stopped (exit code 143: asked to stop)"),
        ("exit:139", "fr", "arrêtée (code de sortie 139 : tuée par le signal 11)"),
        ("exit:3", "en", "stopped (exit code 3)"),
        ("oom", "fr", "mémoire saturée (OOM)"),
        ("removed", "en", "removed"),
        ("state:paused", "fr", "état « en pause »"),
        ("state:weird", "en", "state “weird”"),
        ("unknown", "de", "cause inconnue"),  # an unknown language: French, the default
        ("exited, exit code 137", "en", "exited, exit code 137"),  # recorded before the codes
        ("exit:x", "fr", "exit:x"),
        ("vm:destroyed", "fr", "machine coupée depuis l'hôte"),
        ("vm:poweroff", "en", "machine powered off from inside"),
    ],
)
def test_a_cause_is_worded_in_the_readers_language(cause: str, lang: str, words: str) -> None:
    assert cause_words(cause, lang) == words
