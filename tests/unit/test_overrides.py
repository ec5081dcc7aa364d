"""Overrides change the total, keep the grader's score, and land in an append-only audit log."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import text

from app.auth import create_user
from app.db import unit_of_work
from app.models import AuditEntry, LabSession, Result, Role, State
from tests.unit.test_api_roles import client as client


def graded_session(client: TestClient) -> tuple[str, dict[str, str]]:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        token = create_user(db, "eve", Role.examiner)
        db.add(LabSession(id="s1", scenario="amp-stack", candidate="Zoé", state=State.graded))
        db.flush()
        criteria = [
            {
                "id": "a",
                "title": {"fr": "A", "en": None},
                "referential": None,
                "weight": 3.0,
                "score": 1.0,
                "status": "passed",
                "message": "",
                "evidence": [],
                "duration_ms": 1,
            },
            {
                "id": "b",
                "title": {"fr": "B", "en": None},
                "referential": None,
                "weight": 1.0,
                "score": 0.0,
                "status": "failed",
                "message": "",
                "evidence": [],
                "duration_ms": 1,
            },
        ]
        db.add(
            Result(
                session_id="s1",
                score=75.0,
                points=3.0,
                max_points=4.0,
                report={"criteria": criteria},
            )
        )
    return "s1", {"Authorization": f"Bearer {token}"}


def test_override_changes_the_total_keeps_the_original_and_is_audited(client: TestClient) -> None:
    sid, auth = graded_session(client)
    before = client.get(f"/api/sessions/{sid}/result", headers=auth).json()
    assert before["score"] == 75.0 and before["criteria"][1]["override"] is None

    body = {"criterion": "b", "score": 0.5, "justification": "page correcte, vue par le jury"}
    after = client.post(f"/api/sessions/{sid}/overrides", json=body, headers=auth)
    assert after.status_code == 200, after.text
    result = after.json()
    assert result["score"] == 87.5 and result["original_score"] == 75.0
    b = result["criteria"][1]
    assert (b["score"], b["original_score"]) == (0.5, 0.0)
    assert b["override"]["justification"] == body["justification"] and b["override"]["by"] == "eve"
    assert client.get(f"/api/sessions/{sid}/result", headers=auth).json()["score"] == 87.5

    log = client.get("/api/audit", params={"session_id": sid}, headers=auth).json()
    assert [
        (e["action"], e["actor"], e["detail"]["criterion"], e["detail"]["previous"]) for e in log
    ] == [("override", "eve", "b", 0.0)]


def test_override_needs_a_justification_and_a_known_criterion(client: TestClient) -> None:
    sid, auth = graded_session(client)
    short = client.post(
        f"/api/sessions/{sid}/overrides",
        headers=auth,
        json={"criterion": "b", "score": 1, "justification": "ok"},
    )
    assert short.status_code == 422
    unknown = client.post(
        f"/api/sessions/{sid}/overrides",
        headers=auth,
        json={"criterion": "zz", "score": 1, "justification": "assez long ici"},
    )
    assert unknown.status_code == 422 and "known: a, b" in unknown.json()["detail"]
    too_high = client.post(
        f"/api/sessions/{sid}/overrides",
        headers=auth,
        json={"criterion": "b", "score": 2, "justification": "assez long ici"},
    )
    assert too_high.status_code == 422


def test_the_database_refuses_to_edit_the_audit_log(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine) as db:
        db.add(AuditEntry(actor="eve", action="extend", detail={"minutes": 5}))
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with (
            pytest.raises(sqlalchemy.exc.IntegrityError, match="append-only"),
            engine.begin() as conn,
        ):
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalar_one() == "eve"


def test_jury_reports_show_the_override_and_the_total(client: TestClient) -> None:
    sid, auth = graded_session(client)
    client.post(
        f"/api/sessions/{sid}/overrides",
        headers=auth,
        json={"criterion": "b", "score": 0.5, "justification": "page correcte, vue par le jury"},
    )
    html = client.get(f"/api/sessions/{sid}/report.html", headers=auth)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    for expected in ("Zoé", "page correcte, vue par le jury", "87,5"):
        assert expected in html.text, expected

    pdf = client.get(f"/api/sessions/{sid}/report.pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "87,5" in pdf_text and "Zoé" in pdf_text

    protected = client.post(
        f"/api/sessions/{sid}/report.pdf",
        headers=auth,
        json={"password": "jury-2026", "lang": "en"},
    )
    reader = PdfReader(io.BytesIO(protected.content))
    assert reader.is_encrypted and not reader.decrypt("wrong")
    assert reader.decrypt("jury-2026") and "87.5" in reader.pages[0].extract_text()

    csv_text = client.get(
        "/api/results/export.csv", params={"scenario": "amp-stack"}, headers=auth
    ).text
    header, row = list(csv.reader(io.StringIO(csv_text)))[:2]
    assert header[:3] == ["candidate", "session_id", "scenario"] and {"a", "b"} <= set(header)
    assert row[0] == "Zoé" and float(row[header.index("b")]) == 0.5
    xlsx = client.get("/api/results/export.xlsx", headers=auth)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(2, 1).value == "Zoé"
