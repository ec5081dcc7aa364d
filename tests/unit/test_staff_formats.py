"""The staff pages' words: times as the report writes them, scenario lengths, audit details in
the reader's language; bad addresses answered with a page for a browser, JSON for a script."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.api.deps import COOKIE
from app.auth import create_user
from app.db import unit_of_work
from app.models import Role
from app.web.formats import audit_details, local, span
from tests.unit.test_api_roles import client as client

PARIS = ZoneInfo("Europe/Paris")
HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_local_time_per_language() -> None:
    moment = datetime(2026, 11, 29, 0, 18, 55)  # naive: UTC, as the database hands it back
    assert local(moment, PARIS, "fr") == "29/11/2026 01:18:55"
    assert local(moment, PARIS, "en") == "2026-11-29 01:18:55"
    assert local(None, PARIS, "fr") == "—"


def test_scenario_lengths() -> None:
    assert span(timedelta(minutes=90), "fr") == "1 h 30"
    assert span(timedelta(minutes=90), "en") == "1 h 30 min"
    assert span(timedelta(seconds=40), "fr") == "40 s"
    assert span(timedelta(minutes=45), "fr") == "45 min"
    assert span(timedelta(hours=2), "en") == "2 h"


def test_audit_details_in_french() -> None:
    credit = {
        "incident": 3,
        "node": "web",
        "seconds": 8,
        "reason": "Machine web arrêtée",
        "deadline": datetime(2026, 11, 29, 0, 18, 55, 199635, tzinfo=UTC).isoformat(),
    }
    assert audit_details("credit", credit, PARIS, "fr") == [
        ("incident n°", "3"),
        ("machine", "web"),
        ("durée", "8 s"),
        ("motif", "Machine web arrêtée"),
        ("fin prévue", "29/11/2026 01:18:55"),
    ]
    override = {"criterion": "web", "score": 0.5, "previous": 1.0, "justification": "vu"}
    assert audit_details("override", override, PARIS, "fr")[1:3] == [
        ("nouvelle note", "50,0\u00a0%"),
        ("note précédente", "100,0\u00a0%"),
    ]
    end = audit_details("end", {"reason": "submitted by Inès Moreau"}, PARIS, "fr")
    assert end == [("motif", "copie rendue par Inès Moreau")]


def test_audit_details_skip_kept_reports_and_speak_english() -> None:
    regrade = {"previous_score": 0.25, "previous": {"criteria": []}}
    assert audit_details("regrade", regrade, PARIS, "en") == [("previous score", "25.0%")]


def _examiner(client: TestClient) -> None:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        client.cookies.set(COOKIE, create_user(db, "eve", Role.examiner))


def test_a_bad_parameter_is_a_page_for_a_browser_and_json_for_a_script(
    client: TestClient,
) -> None:
    _examiner(client)
    page = client.get("/staff/history?page=0", headers=HTML)
    assert page.status_code == 400 and "Adresse invalide" in page.text
    assert "<code>page</code>" in page.text
    script = client.get("/staff/history?sort=x")
    assert script.status_code == 422 and script.json()["detail"][0]["loc"] == ["query", "sort"]
    api = client.get("/api/sessions/nope/instructions?lang=xx", headers=HTML)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "lang"]


def test_past_the_last_page_is_the_last_page(client: TestClient) -> None:
    _examiner(client)
    reply = client.get("/staff/history?page=999&q=x", follow_redirects=False)
    assert reply.status_code == 303 and "page=1" in reply.headers["location"]
    assert "q=x" in reply.headers["location"]


def test_an_expired_sign_in_sends_a_browser_to_the_sign_in_form(client: TestClient) -> None:
    pdf = "/api/sessions/nope/report.pdf"
    reply = client.get(pdf, headers=HTML, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login"
    assert client.get(pdf).json()["error"] == "unauthorized"


def test_an_unknown_session_is_not_found(client: TestClient) -> None:
    _examiner(client)
    reply = client.get("/staff/sessions/nope", headers=HTML)
    assert reply.status_code == 404 and "Page introuvable" in reply.text


def test_the_scenario_list_words_lengths(client: TestClient) -> None:
    _examiner(client)
    html = client.get("/staff/scenarios").text
    assert "<th>Identifiant</th>" in html and 'id="nav-history"' in html
    assert '<td class="duration">1 h 30</td>' in html  # amp-stack: 90m
