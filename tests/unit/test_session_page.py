"""The examiner's session page says what the jury report says: an incomplete grade, tampering
found on a node, the status `error` as "not graded", and how each piece of evidence was seen."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.api.deps import COOKIE
from app.auth import create_user
from app.db import unit_of_work
from app.models import LabSession, Result, Role, State
from tests.unit.test_api_roles import client as client


def criterion(id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "title": {"fr": f"Critère {id}", "en": None},
        "referential": None,
        "weight": 1.0,
        "score": 1.0 if status == "passed" else 0.0,
        "status": status,
        "message": "",
        "evidence": [],
        "duration_ms": 1,
        **extra,
    }


NEW_REPORT: dict[str, Any] = {
    "criteria": [
        criterion(
            "web",
            "passed",
            evidence=[
                {
                    "node": "web",
                    "command": "GET http://web/",
                    "status": 200,
                    "output": "ok",
                    "duration_ms": 5,
                    "via": "outside",
                },
                {
                    "node": "web",
                    "command": "systemctl is-active nginx",  # an old item: no `via`
                    "status": 0,
                    "output": "active",
                    "duration_ms": 5,
                },
            ],
        ),
        criterion("db", "error", message="could not be graded: engine time-out"),
    ],
    "complete": False,
    "attempts": 2,
    "integrity": [
        {
            "node": "web",
            "checked": 4,
            "findings": [{"path": "/usr/bin/php8.2", "problem": "changed"}],
            "error": None,
        },
        {"node": "db", "checked": 9, "findings": [], "error": None},
    ],
}


def session_page(client: TestClient, report: dict[str, Any], lang: str = "fr") -> str:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        token = create_user(db, "eve", Role.examiner)
        db.add(LabSession(id="s1", scenario="amp-stack", candidate="Zoé", state=State.graded))
        db.flush()
        db.add(Result(session_id="s1", score=50.0, points=1.0, max_points=2.0, report=report))
    client.cookies.set(COOKIE, token)
    client.cookies.set("lang", lang)
    page = client.get("/staff/sessions/s1")
    assert page.status_code == 200, page.text
    return page.text


def test_session_page_flags_an_incomplete_grade_and_tampering(client: TestClient) -> None:
    html = session_page(client, NEW_REPORT)
    assert "Notation incomplète : 1 critère n&#39;a pas pu être évalué" in html
    assert "Falsification détectée sur web" in html and "<code>/usr/bin/php8.2</code>" in html
    assert "9 fichiers système vérifiés, aucune modification hors paquets Debian" in html
    assert "Non évalué — erreur du correcteur" in html
    assert 'class="status-error"' in html
    assert "depuis l&#39;extérieur (réseau du lab)" in html
    assert "dans la machine (outils de la machine)" in html


def test_session_page_in_english(client: TestClient) -> None:
    html = session_page(client, NEW_REPORT, lang="en")
    assert "Incomplete grade: 1 criterion could not be graded" in html
    assert "Tampering found on web" in html and "Not graded — grader error" in html
    assert "from outside (lab network)" in html and "inside the node (node&#39;s own tools)" in html


def test_session_page_of_an_old_grade(client: TestClient) -> None:
    old = {"criteria": [criterion("web", "passed"), criterion("db", "failed")]}
    html = session_page(client, old)
    assert "Notation incomplète" not in html and "Intégrité du lab" not in html
    assert "Réussi" in html and "Échoué" in html
