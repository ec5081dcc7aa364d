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


FR_DATE = r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d"
EN_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
GREY = "rgb(227, 231, 238)"  # .node without a live state


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
    examiner.get_by_label("Prolonger de").fill("90")  # labelled fields, not placeholders
    examiner.get_by_label("Motif", exact=True).fill("Coupure réseau salle 2")
    examiner.click("#extend")
    expect(examiner.locator("#extend-status")).to_have_text("Session prolongée de 90 min.")
    expect(examiner.locator("#extension-list")).to_contain_text(
        f"+90 min — Coupure réseau salle 2 — par {name}"
    )
    expect(examiner.locator("#time-left .countdown")).to_have_text(re.compile(r"^1:3\d:\d\d$"))
    _in_english(browser, service, name, password, second["id"])

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
    # Another session's page: the 403 page says why and where to go.
    assert (
        gone_page := candidate.goto(f"{service.url}/exam/{first['id']}")
    ) and gone_page.status == 403
    expect(candidate).to_have_title("Accès refusé — Praxis")
    candidate.get_by_role("link", name="Revenir à l'accueil").click()
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
    # Graded: its machine is frozen (grey), not "running" (green).
    expect(row.locator('.node[data-node="web"]')).to_have_css("background-color", GREY)
    expect(dashboard.get_by_role("link", name="Ouvrir la session — Léa Martin")).to_have_count(2)
    dashboard.locator(f'tr[data-session="{second["id"]}"] a.open').focus()
    _refreshes(dashboard, 2)
    focused = dashboard.evaluate("document.activeElement.closest('tr')?.dataset.session")
    assert focused == second["id"]
    doc_shot(dashboard, "staff-dashboard")

    # Ended by someone else: the session page changes state by itself; while the examiner is
    # typing it is not reloaded, but the controls of a running session go at once.
    examiner.fill("#extend-reason", "en cours de saisie")
    with service.client() as api:
        api.post(f"/api/sessions/{second['id']}/end")
    expect(state).to_have_text(re.compile("corrigée|archivée"), timeout=120_000)
    expect(examiner.locator("#extend-form")).to_be_hidden()
    expect(examiner.get_by_text("Lecture seule")).to_be_hidden()
    examiner.evaluate(
        "() => { const i = document.getElementById('extend-reason'); i.value = ''; i.blur(); }"
    )
    expect(examiner.locator("#total")).to_be_visible()
    expect(examiner.locator("#ended")).to_contain_text(
        re.compile(rf"^Terminée le {FR_DATE} — terminée par l'examinateur")
    )
    expect(examiner.get_by_text("Fin prévue")).to_have_count(0)
    _replay(examiner, service, second["id"])
    expect(examiner.locator("#extension-list")).to_contain_text("Coupure réseau salle 2")

    # The audit log: the extension with its reason, the code reissued, by whom.
    examiner.goto(f"{service.url}/staff/audit?session={second['id']}")
    extension = examiner.locator('#audit tr[data-action="extend"]', has_text="Coupure réseau")
    expect(extension).to_contain_text(name)
    expect(extension).to_contain_text("durée : 90 min")
    expect(extension).to_contain_text(re.compile(rf"fin prévue : {FR_DATE}"))
    expect(examiner.locator('#audit tr[data-action="end"]')).to_contain_text(
        "motif : terminée par l'examinateur"
    )
    expect(examiner.locator('#audit tr[data-action="reissue_code"]')).to_contain_text(name)

    assert (
        unknown := examiner.goto(f"{service.url}/staff/sessions/nope")
    ) and unknown.status == 404
    expect(examiner.locator("h1")).to_have_text("404 — Page introuvable")

    # The first session leaves the dashboard; the history still lists it with its score.
    expect(row).to_have_count(0, timeout=120_000)
    _history(examiner, service, first["id"], gone["id"])


def _in_english(browser: Browser, service: Service, name: str, password: str, lab: str) -> None:
    """The session page in English: its own colons, and the English report's date format in
    what the server wrote and in what staff.js writes."""
    p = page(browser, lang="en")
    sign_in(p, service, name, password)
    p.goto(f"{service.url}/staff/sessions/{lab}")
    expect(p.locator("#lang-switch")).to_have_attribute("hreflang", "en")
    p.click("#lang-switch")
    expect(p.locator("#planned")).to_contain_text(re.compile(rf"^Deadline: {EN_DATE}\s"))
    expect(p.locator("#exam-code-box")).to_contain_text("Exam code: Show the code")
    p.fill("#extend-minutes", "5")
    p.fill("#extend-reason", "Late start")
    p.click("#extend")
    expect(p.locator("#extension-list li").last).to_have_text(
        re.compile(rf"^\+5 min — Late start — by {name}, {EN_DATE}$")
    )
    expect(p.locator("#deadline")).to_have_text(re.compile(rf"^{EN_DATE}$"))
    p.context.close()


def _replay(p: Page, service: Service, lab: str) -> None:
    """A recording's page names its candidate and node, under the staff's menu."""
    p.click('a.recording[data-node="web"]')
    expect(p).to_have_title("Rejouer — Léa Martin — web — Praxis")
    expect(p.locator("#nav-history")).to_be_visible()
    assert (missing := p.goto(f"{service.url}/staff/sessions/{lab}/recordings/nope"))
    assert missing.status == 404
    p.goto(f"{service.url}/staff/sessions/{lab}")


def _history(p: Page, service: Service, graded: str, failed: str) -> None:
    p.goto(f"{service.url}/staff")
    p.click("#nav-history")
    row = p.locator(f'#history tr[data-session="{graded}"]')
    expect(row.locator(".score")).to_have_text(re.compile(r"^\d+,\d\s%$"))
    expect(row.locator(".state")).to_have_text("archivée")
    expect(p.locator("#history tbody tr")).to_have_count(3)
    doc_shot(p, "staff-history")
    # Bad addresses: a page that names the parameter; past the end, the last page.
    assert (bad := p.goto(f"{service.url}/staff/history?page=0")) and bad.status == 400
    expect(p.locator("h1")).to_have_text("400 — Adresse invalide")
    p.goto(f"{service.url}/staff/history?page=999")
    expect(p.locator("#history tbody tr")).to_have_count(3)
    expect(p.get_by_text("Aucune session.")).to_have_count(0)
    p.goto(f"{service.url}/staff/history")

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
    stranger = page(p.context.browser)  # type: ignore[arg-type]
    stranger.goto(f"{service.url}{row.locator('a.pdf').get_attribute('href')}")
    expect(stranger.locator("#sign-in")).to_be_visible()  # not a JSON error
    stranger.context.close()
    for kind, start_bytes in (("csv", "Léa Martin".encode()), ("xlsx", b"PK")):
        with p.expect_download() as download:
            p.click(f"#export-{kind}")
        assert download.value.suggested_filename == f"praxis-results.{kind}"
        content = Path(download.value.path()).read_bytes()
        assert content.startswith(start_bytes) if kind == "xlsx" else start_bytes in content
    row.locator("a.open").click()
    p.wait_for_url(f"**/staff/sessions/{graded}")
    expect(p.locator("#total")).to_be_visible()

    p.locator(".top nav").get_by_role("link", name="Sujets").click()
    expect(p.locator("#scenarios th").first).to_have_text("Identifiant")
    expect(p.locator('tr[data-scenario="quick"] .duration')).to_have_text("20 s")
    expect(p.locator('tr[data-scenario="hostile"] .duration')).to_have_text("10 min")
    expect(p.locator("#nav-history")).to_be_visible()
