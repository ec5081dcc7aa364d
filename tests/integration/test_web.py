"""The web UI in a real browser (Debian's Chromium through Playwright) against the real
service, lab and sshd. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Browser, expect

from tests.integration.conftest import Service
from tests.integration.ui import examiner_password, page, shot, start


def test_candidate_terminal_examiner_mirror_clock_and_recording(
    browser: Browser, service: Service
) -> None:
    session, other = start(service, "clock", "Inès Moreau"), start(service, "clock", "Paul Roux")
    name, password = examiner_password(service)

    candidate = page(browser)
    candidate.goto(f"{service.url}/exam")
    candidate.fill("#code", session["code"].lower().replace("-", " "))  # typed loosely
    candidate.click("#start")
    candidate.wait_for_url(f"**/exam/{session['id']}")
    expect(candidate.locator("#instructions")).to_contain_text("42")  # parameters filled in
    expect(candidate.locator("#countdown")).to_have_text(
        re.compile(r"^00:[0-4]\d$"), timeout=30_000
    )
    terminal = candidate.locator('.terminal[data-node="web"]')
    expect(terminal).to_contain_text("candidat@web", timeout=15_000)

    examiner = page(browser)
    examiner.goto(f"{service.url}/login")
    examiner.fill("input[name=name]", name)
    examiner.fill("input[name=password]", password)
    examiner.click("#sign-in")
    examiner.wait_for_url("**/staff")
    expect(examiner.locator(f'tr[data-session="{session["id"]}"]')).to_contain_text("Inès Moreau")
    shot(examiner, "dashboard")
    examiner.goto(f"{service.url}/staff/sessions/{session['id']}")
    mirror = examiner.locator('.terminal[data-node="web"]')
    expect(mirror).to_contain_text("candidat@web", timeout=10_000)

    terminal.click()
    candidate.keyboard.type("hostname\n")
    expect(terminal).to_contain_text(re.compile(r"hostname\s*web\s*candidat@web"), timeout=5_000)
    expect(mirror).to_contain_text(
        re.compile(r"hostname\s*web\s*candidat@web"), timeout=1_000
    )  # mirrored live
    shot(candidate, "candidate-terminal")
    shot(examiner, "examiner-mirror")

    # The candidate changes their own password, then leaves the shell: a new one opens anyway.
    secret = candidate.locator("#account-password").inner_text()
    candidate.keyboard.type(
        f"printf '%s\\n' {secret} | sudo -S sh -c 'echo candidat:autre-mdp-1 | chpasswd'\n"
    )
    candidate.keyboard.type("exit\n")
    expect(terminal).to_contain_text(re.compile(r"exit.*candidat@web:~\$", re.S), timeout=15_000)

    # A reload finds the same shell, with what was typed before.
    candidate.reload()
    expect(candidate.locator('.terminal[data-node="web"]')).to_contain_text(
        "hostname", timeout=10_000
    )

    # Another session's page is refused to this candidate.
    assert candidate.goto(f"{service.url}/exam/{other['id']}").status == 403
    expect(candidate.locator("#forbidden")).to_be_visible()
    candidate.go_back()

    # The clock reaches zero: the page says the exam is over, the terminal closes.
    expect(candidate.locator("#exam-state")).to_contain_text(
        "L'épreuve est terminée", timeout=60_000
    )
    expect(candidate.locator("#countdown")).to_have_text("00:00")
    expect(candidate.locator('.terminal[data-node="web"]')).to_contain_text(
        "terminée", timeout=10_000
    )
    shot(candidate, "exam-over")

    # The recording holds the keys typed and what the shell answered; the replay page plays it.
    ended = service.wait(session["id"], "graded", "torn_down", timeout=60)
    assert ended["reason"] == "time is up" and ended["ended_at"] == ended["deadline"]
    with service.client() as api:
        cast = api.get(f"/api/sessions/{session['id']}/recordings/web.cast").text
    header, *events = [json.loads(line) for line in cast.splitlines()]
    assert header["version"] == 2
    typed = "".join(e[2] for e in events if e[1] == "i")
    shown = "".join(e[2] for e in events if e[1] == "o")
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\r", "", shown)  # without terminal escapes
    assert "hostname\r" in typed and "hostname\nweb\n" in plain
    examiner.goto(f"{service.url}/staff/sessions/{session['id']}")
    examiner.click('a.recording[data-node="web"]')
    expect(examiner.locator(".ap-player")).to_contain_text(
        re.compile(r"hostname\s*web"), timeout=20_000
    )
    shot(examiner, "replay")


def test_pages_refuse_the_wrong_people(browser: Browser, service: Service) -> None:
    session = start(service, "quick", "Nora Faure")
    anonymous = page(browser)
    for path in ("/staff", f"/staff/sessions/{session['id']}", "/staff/scenarios"):
        anonymous.goto(f"{service.url}{path}")
        assert anonymous.url.endswith("/login"), path
    anonymous.goto(f"{service.url}/exam/{session['id']}")
    assert anonymous.url.endswith("/exam")

    candidate = page(browser)
    candidate.goto(f"{service.url}/exam")
    candidate.fill("#code", "ZZZZ-ZZZZ")
    candidate.click("#start")
    expect(candidate.locator(".error")).to_contain_text("inconnu")
    candidate.fill("#code", session["code"])
    candidate.click("#start")
    candidate.wait_for_url(f"**/exam/{session['id']}")
    candidate.goto(f"{service.url}/staff")
    assert candidate.url.endswith("/login")  # a candidate is no staff member
    reply = candidate.request.get(f"{service.url}/api/sessions")
    assert reply.status == 403

    english = page(browser)
    english.goto(f"{service.url}/exam")
    english.click("#lang-switch")
    expect(english.locator("h1")).to_have_text("Exam code")
