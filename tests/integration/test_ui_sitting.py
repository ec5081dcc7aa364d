"""An exam day in a real browser: an examiner plans a sitting of three from a training centre's
roster (after a bad one is refused whole), prints the slips, the labs are made ahead (the
sitting's pool) and handed out before the time, the clocks start at it, the candidates sign in
with their codes, one hands in, the others reach the deadline, and the results and the ZIP of
reports hold all three."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from app.config import Settings
from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, examiner_password, page, shot, sign_in

# As a training centre's spreadsheet saves it: a BOM, `;`, a title line above the header.
ROSTER = (
    "\ufeffSession de décembre;;;\n"
    "Nom;Prénom;N° candidat;Courriel\n"
    "Nguyễn;Văn An;2026-001;an.nguyen@example.org\n"
    "Écrivain;Zoé;2026-002;\n"
    "Ørsted;Hélène;2026-003;helene@example.org\n"
).encode()
BAD_ROSTER = (
    "Nom;Prénom;N° candidat\n"
    "Durand;Léa;2026-001\n"
    "Martin;;2026-002\n"  # no first name
    "Petit;Jean;2026-001\n"  # the same number twice
).encode()


def _plan(p: Page, roster: bytes, starts: datetime) -> None:
    p.goto(p.url.split("/staff")[0] + "/staff/sittings/new")
    p.select_option("#scenario", "quick")
    p.fill("#starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    p.fill("#minutes", "1")
    p.fill("#room", "B12")
    p.set_input_files(
        "#roster", files=[{"name": "inscrits.csv", "mimeType": "text/csv", "buffer": roster}]
    )
    p.click("#create-sitting")


def _state_of(p: Page, number: str) -> str:
    return p.locator(f'#candidates tr[data-number="{number}"] .state').inner_text()


def test_an_exam_day_from_the_browser(browser: Browser, service: Service) -> None:
    name, password = examiner_password(service)
    p = page(browser)
    sign_in(p, service, name, password)
    zone = ZoneInfo(Settings().timezone)
    # The form takes whole minutes. The labs are handed out a minute before the time: the pool
    # has at least 50 s to make them.
    starts = (datetime.now(zone) + timedelta(seconds=170)).replace(second=0, microsecond=0)

    _plan(p, BAD_ROSTER, starts)
    problems = p.locator("#problems")
    expect(problems).to_contain_text(re.compile(r"inscrits\.csv:3: .*first name"))
    expect(problems).to_contain_text(re.compile(r"inscrits\.csv:4: .*2026-001"))
    with service.client() as api:
        assert api.get("/api/sittings").json() == [], "a bad roster made something"

    _plan(p, ROSTER, starts)
    p.wait_for_url(re.compile(r"/staff/sittings/st-[0-9a-f]+$"))
    sitting_url = p.url
    rows = p.locator("#candidates tbody tr")
    expect(rows).to_have_count(3)
    expect(p.locator("#candidates")).to_contain_text("Văn An NGUYỄN")
    codes = {
        n: p.locator(f'#candidates tr[data-number="{n}"] code').inner_text()
        for n in ("2026-001", "2026-002", "2026-003")
    }
    slips = p.request.get(service.url + (p.locator("#slips").get_attribute("href") or ""))
    assert slips.ok and slips.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(slips.body())).pages)
    for code in codes.values():
        assert code in text, text
    assert "Hélène" in text and "B12" in text

    while datetime.now(zone) < starts - timedelta(seconds=3):  # every lab ready before the time
        p.goto(sitting_url)
        if all(_state_of(p, n) == "prête, attend le début" for n in codes):
            break
        time.sleep(1)
    assert datetime.now(zone) < starts, "the labs were not ready before the sitting's time"
    doc_shot(p, "sitting")
    time.sleep(max(0.0, (starts - datetime.now(zone)).total_seconds()) + 1)

    candidates = []
    for number, code in codes.items():
        c = page(browser)
        c.goto(f"{service.url}/exam")
        c.fill("#code", code)
        c.click("#start")
        c.wait_for_url(re.compile(r"/exam/[0-9a-f]+$"))
        expect(c.locator("#submit")).to_be_enabled()  # the lab is ready: no "in preparation"
        # Its clock started at the sitting's time, not at this sign-in: under a minute left.
        expect(c.locator("#countdown")).to_have_text(re.compile(r"^00:[0-5]\d$"), timeout=10_000)
        candidates.append((number, c))

    first, hand_in = candidates[0]
    hand_in.once("dialog", lambda dialog: dialog.accept())
    hand_in.click("#submit")
    expect(hand_in.locator("#exam-state")).to_contain_text("L'épreuve est terminée")

    with service.client() as api:
        sitting = api.get("/api/sittings").json()[0]
        for person in sitting["candidates"]:
            service.wait(person["session_id"], "graded", timeout=180)
            said = [
                e["detail"] for e in api.get(f"/api/sessions/{person['session_id']}/events").json()
            ]
            assert said[0].startswith("made ahead for sitting"), said  # then handed out:
            assert any("its lab from the pool" in line for line in said), said
        reasons = {
            p["number"]: api.get(f"/api/sessions/{p['session_id']}").json()["reason"]
            for p in sitting["candidates"]
        }
    assert reasons[first] != "time is up"
    assert [reasons[n] for n in codes if n != first] == ["time is up", "time is up"]

    p.goto(sitting_url)
    for number in codes:
        assert _state_of(p, number) == "corrigée"
        expect(p.locator(f'#candidates tr[data-number="{number}"] .score')).to_have_text(
            re.compile(r"\d+,\d\s%")
        )
    p.fill("#zip-password", "jury-2026")
    with p.expect_download() as download:
        p.click("#results-zip")
    with zipfile.ZipFile(download.value.path()) as archive:
        reports = [n for n in archive.namelist() if n.endswith(".pdf")]
        assert len(reports) == 3, archive.namelist()
        pdf = PdfReader(io.BytesIO(archive.read(reports[0])))
        assert pdf.is_encrypted and pdf.decrypt("jury-2026")
    shot(p, "sitting-graded")
