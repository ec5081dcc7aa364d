"""A dead lab is an incident, not a 0 %: a node killed for real (docker kill) is shown to the
examiner (dashboard, session page) and to the candidate in words; the examiner restarts it
with its disk kept and gives the time back (audited); a node still down when the lab ends is
stated as such on the session page and in the jury's PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import docker
import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, enter_exam, examiner_password, page, sign_in, start


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """Graded once: a dead node's criteria cannot be graded however often one tries."""
    svc = Service(tmp_path, grading_attempts="1").start()
    yield svc
    svc.kill()
    svc.destroy_all()


def kill_node(session_id: str, node: str = "web") -> None:
    client = docker.from_env()
    (container,) = client.containers.list(
        filters={"label": [f"praxis.session={session_id}", f"praxis.node={node}"]}
    )
    container.kill()


def incidents(service: Service, session_id: str) -> list[dict[str, object]]:
    with service.client() as api:
        rows: list[dict[str, object]] = api.get(f"/api/sessions/{session_id}/incidents").json()
    return rows


def deadline(service: Service, session_id: str) -> datetime:
    with service.client() as api:
        return datetime.fromisoformat(api.get(f"/api/sessions/{session_id}").json()["deadline"])


def type_and_see(p: Page, command: str, seen: str) -> None:
    terminal = p.locator('.terminal[data-node="web"]')
    terminal.click()
    p.keyboard.type(command + "\n")
    expect(terminal).to_contain_text(seen, timeout=15_000)


def test_a_killed_node_is_an_incident_restarted_with_its_disk_and_its_time(
    browser: Browser, service: Service
) -> None:
    session = start(service, "clock", "Inès Moreau")
    sid = session["id"]
    service.wait(sid, "ready")
    with service.client() as api:  # room for the outage: the scenario lasts 40 s
        api.post(f"/api/sessions/{sid}/extend", json={"minutes": 10, "reason": "test"})
    name, password = examiner_password(service)

    # The candidate's browser is in another zone than the exam centre (Europe/Paris).
    candidate = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="fr-FR", timezone_id="America/Sao_Paulo"
    ).new_page()
    enter_exam(candidate, service, session)
    terminal = candidate.locator('.terminal[data-node="web"]')
    expect(terminal).to_contain_text("candidat@web", timeout=20_000)
    type_and_see(candidate, "echo kept > ~/before.txt; echo $((6*7))ok", "42ok")

    kill_node(sid)
    notice = candidate.locator("#incident")
    expect(notice).to_contain_text("La machine web s'est arrêtée", timeout=15_000)
    expect(notice).to_contain_text("l'examinateur est prévenu")
    expect(terminal).to_contain_text("La machine web est arrêtée", timeout=5_000)
    down_at = datetime.fromisoformat(str(incidents(service, sid)[0]["down_at"]))
    paris = down_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M:%S")
    expect(notice).to_contain_text(f"s'est arrêtée à {paris}")  # the centre's clock, as staff see

    examiner = page(browser)
    sign_in(examiner, service, name, password)
    alert = examiner.locator("#incident-alert")
    expect(alert).to_contain_text("Inès Moreau", timeout=10_000)
    expect(alert).to_contain_text("Machine web arrêtée depuis")
    expect(alert).to_contain_text("(cause : arrêtée (code de sortie 137 : processus tué))")
    expect(examiner.locator(f'tr[data-session="{sid}"] td.health')).to_contain_text("arrêtée")
    doc_shot(examiner, "incident-dashboard")

    alert.get_by_role("link").click()
    section = examiner.locator("#incidents")
    # The engine's cause in words (docker kill: SIGKILL, 128 + 9), not its English.
    expect(section).to_contain_text(
        "cause : arrêtée (code de sortie 137 : processus tué)", timeout=10_000
    )
    # The mirror of the dead node says why it shows nothing.
    mirror = examiner.locator('.terminal[data-node="web"]')
    expect(mirror).to_contain_text("La machine web est arrêtée : rien à observer", timeout=10_000)
    doc_shot(examiner, "incident-session")
    section.get_by_role("button", name="Redémarrer la machine web").click()
    expect(section).to_contain_text("revenue à", timeout=150_000)

    # The candidate is told, the terminal comes back by itself, the disk was kept.
    expect(notice).to_contain_text("La machine web fonctionne de nouveau", timeout=10_000)
    expect(terminal).not_to_contain_text("La machine web est arrêtée", timeout=30_000)
    expect(terminal).to_contain_text("candidat@web", timeout=15_000)
    type_and_see(candidate, "tr a-z A-Z < ~/before.txt", "KEPT")

    # The time lost is given back: the outage as measured, prefilled; audited.
    before = deadline(service, sid)
    outage = incidents(service, sid)[0]["lost_seconds"]
    assert isinstance(outage, int) and outage >= 1
    given = section.get_by_label("Temps perdu à rendre au candidat")
    expect(given).to_have_value(str(outage))
    section.get_by_role("button", name="Rendre le temps perdu").click()
    expect(examiner.locator("#incidents")).to_contain_text(
        re.compile(r"rendues au candidat par juliette"), timeout=10_000
    )
    moved = (deadline(service, sid) - before).total_seconds()
    assert abs(moved - outage) <= 2, (moved, outage)
    with service.client() as api:
        audit = [a for a in api.get("/api/audit").json() if a["action"] == "credit"]
    assert audit[0]["actor"] == name and audit[0]["detail"]["node"] == "web"
    expect(notice).to_contain_text("Temps rendu", timeout=10_000)

    # Down again, and the exam ends: the result says incident, not the candidate's failure.
    kill_node(sid)
    expect(notice).to_contain_text("s'est arrêtée", timeout=15_000)
    with service.client() as api:
        api.post(f"/api/sessions/{sid}/end")
    service.wait(sid, "graded", timeout=300)
    examiner.reload()
    expect(examiner.locator("#incidents")).to_contain_text(
        "toujours arrêtée à la fin de l'épreuve", timeout=10_000
    )
    with service.client() as api:
        pdf = api.get(f"/api/sessions/{sid}/report.pdf").content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Incident : machine web arrêtée depuis" in text
    assert "toujours arrêtée à la fin de l'épreuve" in text
    assert "code de sortie 137 : processus tué" in text and "exit code" not in text
