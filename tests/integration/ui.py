"""Browser helpers for the UI tests: Debian's Chromium through Playwright, against the real
service. `shot` keeps a screenshot in test-artifacts/; `doc_shot` also refreshes the one the
README shows (docs/screens/), so the documentation is made by the tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page

from app.config import Settings
from tests.integration.conftest import ARTIFACTS, PRAXIS, ROOT, Service

DOCS = ROOT / "docs" / "screens"


def page(browser: Browser, width: int = 1400, height: int = 900, lang: str = "fr") -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=f"{lang}-{lang.upper()}"
    )
    return context.new_page()


def shot(p: Page, name: str) -> None:
    p.screenshot(path=ARTIFACTS / f"{name}.png")


def doc_shot(p: Page, name: str) -> None:
    """A screenshot for the README, kept in docs/screens/."""
    shot(p, name)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


def examiner_password(service: Service, name: str = "juliette") -> tuple[str, str]:
    password = "correct-horse-9"
    done = subprocess.run(
        [PRAXIS, "user", "create", name, "--role", "examiner", "--password"],
        input=f"{password}\n{password}\n",
        env=service.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip()
    return name, password


def sign_in(p: Page, service: Service, name: str, password: str) -> None:
    p.goto(f"{service.url}/login")
    p.fill("input[name=name]", name)
    p.fill("input[name=password]", password)
    p.click("#sign-in")
    p.wait_for_url("**/staff")


def start(service: Service, scenario: str, candidate: str) -> dict[str, str]:
    with service.client() as api:
        body = api.post("/api/sessions", json={"scenario": scenario, "candidate": candidate}).json()
    return {"id": body["id"], "code": body["access"]["exam_code"]}


@contextmanager
def labs_held_in_preparation() -> Iterator[None]:
    """While inside, no lab of the pool can become ready: the host refuses the platform's SSH
    to its nodes, so the readiness check keeps asking. A state the page shows only while a lab
    is built is then there to be seen, however fast the lab is made."""
    rule = ["OUTPUT", "-d", Settings().lab_pool, "-p", "tcp", "--dport", "22", "-j", "REJECT"]
    rule += ["--reject-with", "tcp-reset", "-m", "comment", "--comment", "praxis-test-hold"]
    subprocess.run(["iptables", "-I", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


def enter_exam(p: Page, service: Service, session: dict[str, str]) -> None:
    """Sign in as the candidate with their exam code, onto their exam page."""
    p.goto(f"{service.url}/exam")
    p.fill("#code", session["code"])
    p.click("#start")
    p.wait_for_url(f"**/exam/{session['id']}")
