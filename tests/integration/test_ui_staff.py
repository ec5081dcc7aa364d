"""The examiner's pages in a real browser against the real service and labs: the dashboard,
the session page that follows its session live, exam codes, the history and the audit log."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, examiner_password, page, sign_in, start


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A graded lab is kept 30 s only: the history must still list it afterwards."""
    svc = Service(tmp_path, retention_seconds="30").start()
    yield svc
    svc.kill(signal.SIGTERM)
    svc.destroy_all()


def _refreshes(p: Page, count: int) -> None:
    """Wait until htmx has replaced the dashboard's rows `count` times."""
    p.evaluate(
        """count => new Promise(done => {
             let seen = 0;
             document.querySelector("#sessions tbody").addEventListener("htmx:afterSwap",
               () => { if (++seen >= count) done(); });
           })""",
        count,
    )


def test_dashboard_session_page_codes_history_and_audit(browser: Browser, service: Service) -> None:
    first, second = start(service, "quick", "Léa Martin"), start(service, "clock", "Léa Martin")
    gone = start(service, "quick", "Zoé Petit")
    with service.client() as api:
        assert api.post(f"/api/sessions/{gone['id']}/end").status_code == 200  # never ready
    name, password = examiner_password(service)
    examiner = page(browser)
    sign_in(examiner, service, name, password)

    # The session page follows its session: it was not ready when opened, it is now.
    examiner.goto(f"{service.url}/staff/sessions/{second['id']}")
    state = examiner.locator("#session-state")
    expect(state).to_have_text("en cours", timeout=120_000)
    expect(examiner.locator("h1")).to_contain_text("Examen éclair")
    examiner.fill("#extend-minutes", "90")
    examiner.fill("#extend-reason", "Coupure réseau salle 2")
    examiner.click("#extend")
    expect(examiner.locator("#extend-status")).to_have_text("Session prolongée de 90 min.")
    expect(examiner.locator("#extension-list")).to_contain_text(
        f"+90 min — Coupure réseau salle 2 — par {name}"
    )
    expect(examiner.locator("#time-left .countdown")).to_have_text(re.compile(r"^1:3\d:\d\d$"))

    # The exam code: not in the page until asked for; reissued, the old one stops working.
    assert second["code"] not in examiner.content()
    examiner.click("#show-code")
    expect(examiner.locator("#exam-code")).to_have_text(second["code"])
    examiner.once("dialog", lambda dialog: dialog.accept())
    examiner.click("#reissue-code")
    expect(examiner.locator("#code-status")).to_contain_text("l'ancien ne fonctionne plus")
    new_code = examiner.locator("#exam-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", new_code) and new_code != second["code"]
    candidate = page(browser)
    candidate.goto(f"{service.url}/exam")
    candidate.fill("#code", second["code"])
    candidate.click("#start")
    expect(candidate.locator(".error")).to_contain_text("inconnu")
    candidate.fill("#code", new_code)
    candidate.click("#start")
    candidate.wait_for_url(f"**/exam/{second['id']}")

    # The first session ends and is graded; the dashboard tells the two Léa Martin apart.
    service.wait(first["id"], "ready", timeout=120)
    with service.client() as api:
        api.post(f"/api/sessions/{first['id']}/end")
    dashboard = page(browser)
    sign_in(dashboard, service, name, password)
    expect(dashboard.locator("h1")).to_have_text("Sessions")
    row = dashboard.locator(f'tr[data-session="{first["id"]}"]')
    expect(row.locator(".session-id")).to_have_text(first["id"])
    expect(dashboard.locator(f'tr[data-session="{second["id"]}"] .session-id')).to_have_text(
        second["id"]
    )
    expect(row.locator(".subject")).to_have_text("Examen éclair")
    expect(row.locator(".started")).to_have_text(re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$"))
    expect(row.locator(".score")).to_have_text(re.compile(r"^\d+,\d\s%$"), timeout=90_000)
    expect(dashboard.get_by_role("link", name="Ouvrir la session de Léa Martin")).to_have_count(2)
    dashboard.locator(f'tr[data-session="{second["id"]}"] a.open').focus()
    _refreshes(dashboard, 2)
    focused = dashboard.evaluate("document.activeElement.closest('tr')?.dataset.session")
    assert focused == second["id"]
    doc_shot(dashboard, "staff-dashboard")

    # Ended by someone else: the session page changes state by itself and shows the result.
    with service.client() as api:
        api.post(f"/api/sessions/{second['id']}/end")
    expect(state).to_have_text(re.compile("corrigée|archivée"), timeout=120_000)
    expect(examiner.locator("#total")).to_be_visible()
    expect(examiner.locator("#extension-list")).to_contain_text("Coupure réseau salle 2")

    # The audit log: the extension with its reason, the code reissued, by whom.
    examiner.goto(f"{service.url}/staff/audit?session={second['id']}")
    extension = examiner.locator('#audit tr[data-action="extend"]')
    expect(extension).to_contain_text("Coupure réseau salle 2")
    expect(extension).to_contain_text(name)
    expect(examiner.locator('#audit tr[data-action="reissue_code"]')).to_contain_text(name)

    # The first session leaves the dashboard; the history still lists it with its score.
    expect(row).to_have_count(0, timeout=120_000)
    _history(examiner, service, first["id"], gone["id"])


def _history(p: Page, service: Service, graded: str, failed: str) -> None:
    p.goto(f"{service.url}/staff")
    p.click("#nav-history")
    row = p.locator(f'#history tr[data-session="{graded}"]')
    expect(row.locator(".score")).to_have_text(re.compile(r"^\d+,\d\s%$"))
    expect(row.locator(".state")).to_have_text("archivée")
    expect(p.locator("#history tbody tr")).to_have_count(3)
    doc_shot(p, "staff-history")

    p.fill("#history-q", "léa")
    p.click("#history-apply")
    expect(p.locator("#history tbody tr")).to_have_count(2)
    expect(row).to_be_visible()
    p.fill("#history-q", "")
    p.select_option("#history-state", "failed")
    p.click("#history-apply")
    expect(p.locator("#history tbody tr")).to_have_count(1)
    expect(p.locator(f'#history tr[data-session="{failed}"]')).to_be_visible()
    p.select_option("#history-state", "")
    p.click("#history-apply")
    p.click('a.sort[data-sort="candidate"]')  # ascending
    expect(p.locator("#history tbody tr").first).to_contain_text("Léa Martin")
    p.click('a.sort[data-sort="candidate"]')  # descending
    expect(p.locator("#history tbody tr").first).to_contain_text("Zoé Petit")

    pdf = p.request.get(f"{service.url}{row.locator('a.pdf').get_attribute('href')}")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    for kind, start_bytes in (("csv", "Léa Martin".encode()), ("xlsx", b"PK")):
        with p.expect_download() as download:
            p.click(f"#export-{kind}")
        assert download.value.suggested_filename == f"praxis-results.{kind}"
        content = Path(download.value.path()).read_bytes()
        assert content.startswith(start_bytes) if kind == "xlsx" else start_bytes in content
    row.locator("a.open").click()
    p.wait_for_url(f"**/staff/sessions/{graded}")
    expect(p.locator("#total")).to_be_visible()
