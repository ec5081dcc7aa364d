"""A VM's consoles in the browser, on a real VM (libvirtd, QEMU) and Debian's Chromium: with
its SSH stopped, the candidate still logs in on the serial console and works there; the
screen (noVNC through the platform) shows the machine's display; examiners see both, read
only; and the end of the exam cuts both, for good."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.integration.conftest import Service, candidate_ssh
from tests.integration.ui import doc_shot, enter_exam, examiner_password, page, sign_in, start

BOOT = 300_000  # ms: a VM boots to SSH in 25-60 s here, longer beside other tests' labs


def _type(p: Page, where: Locator, keys: str, shows: str | re.Pattern[str]) -> None:
    p.keyboard.type(keys)
    expect(where).to_contain_text(shows, timeout=30_000)


def _lit_pixels(screen: Locator) -> dict[str, int]:
    """The screen's canvas as noVNC drew it: its size and how many pixels are not black."""
    deadline = time.monotonic() + 30
    while True:
        seen = _canvas(screen)
        if seen["lit"] > 500 or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def _canvas(screen: Locator) -> dict[str, int]:
    return dict(
        screen.evaluate(
            """el => {
              const canvas = el.querySelector("canvas");
              const {width, height} = canvas;
              const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
              let lit = 0;
              for (let i = 0; i < data.length; i += 4) {
                if (data[i] + data[i + 1] + data[i + 2] > 150) lit++;
              }
              return {width, height, lit};
            }"""
        )
    )


def _closed_with(p: Page, service: Service, session_id: str, what: str) -> dict[str, Any]:
    """A new connection to a console, from this page: how the server answers it."""
    return dict(
        p.evaluate(
            """url => new Promise((done) => {
              const socket = new WebSocket(url);
              const said = [];
              socket.onmessage = (event) => said.push(String(event.data));
              socket.onclose = (event) => done({code: event.code, reason: event.reason, said});
            })""",
            f"ws://127.0.0.1:{service.port}/ws/sessions/{session_id}/nodes/vm/{what}",
        )
    )


def test_serial_console_and_screen_of_a_vm_until_the_end(
    browser: Browser, service: Service
) -> None:
    session = start(service, "vm-lab", "Ada Lovelace")
    candidate = page(browser)
    enter_exam(candidate, service, session)
    terminal = candidate.locator('.terminal[data-node="vm"]')
    expect(terminal).to_contain_text("candidat@vm", timeout=BOOT)
    # The container has no consoles: its terminal stands alone.
    expect(candidate.locator('.console-tabs[aria-label*="box"]')).to_have_count(0)
    tabs = candidate.locator('.console-tabs[aria-label*="vm"]')
    expect(tabs.locator("[role=tab]")).to_have_count(3)  # SSH, serial console, screen
    ready = service.wait(session["id"], "ready")
    password = ready["access"]["password"]

    # The candidate breaks SSH from their terminal: nobody gets in by SSH any more.
    terminal.click()
    _type(candidate, terminal, "sudo systemctl stop ssh\n", "password for candidat")
    _type(candidate, terminal, f"{password}\n", re.compile(r"candidat:\s*candidat@vm:~\$"))
    with pytest.raises((paramiko.SSHException, OSError)):
        candidate_ssh(ready, "vm").close()

    # (a) The serial console still answers: log in with the session's password and work.
    tabs.locator('[data-console="serial"]').click()
    serial = candidate.locator('.console-serial[data-console="vm"]')
    expect(serial).to_be_visible()
    expect(terminal).to_be_hidden()
    _type(candidate, serial, "\n", "vm login:")
    _type(candidate, serial, "candidat\n", "Password:")
    _type(candidate, serial, f"{password}\n", "candidat@vm")
    _type(candidate, serial, "echo serial-$((6*7)) $(tty); systemctl is-active ssh\n", "inactive")
    expect(serial).to_contain_text("serial-42 /dev/ttyS0")
    doc_shot(candidate, "vm-serial-console")

    # (b) The screen: noVNC, through the platform, draws the machine's display (its login).
    tabs.locator('[data-console="screen"]').click()
    screen = candidate.locator('.console-screen[data-console="vm"]')
    expect(screen).to_have_attribute("data-state", "connected", timeout=30_000)
    drawn = _lit_pixels(screen)
    assert drawn["lit"] > 500 and drawn["width"] >= 640, drawn
    doc_shot(candidate, "vm-screen")

    # Examiners see the same serial console and the screen, and type into neither.
    examiner = page(browser)
    sign_in(examiner, service, *examiner_password(service))
    examiner.goto(f"{service.url}/staff/sessions/{session['id']}")
    watched = examiner.locator('.console-tabs[aria-label*="vm"]')
    watched.locator('[data-console="serial"]').click()
    watched_serial = examiner.locator('.console-serial[data-console="vm"]')
    # xterm draws only what is in the viewport: bring it there, as the examiner would.
    watched_serial.scroll_into_view_if_needed()
    expect(watched_serial).to_contain_text("serial-42 /dev/ttyS0", timeout=30_000)
    watched_serial.click()
    examiner.keyboard.type("echo examiner-typed\n")
    watched.locator('[data-console="screen"]').click()
    watched_screen = examiner.locator('.console-screen[data-console="vm"]')
    expect(watched_screen).to_have_attribute("data-state", "connected", timeout=30_000)
    drawn = _lit_pixels(watched_screen)
    assert drawn["lit"] > 500 and drawn["width"] >= 640, drawn
    expect(serial).to_contain_text("serial-42")  # the candidate's console is still theirs
    expect(serial).not_to_contain_text("examiner-typed")
    expect(screen).to_have_attribute("data-state", "connected")  # shared, not taken over

    # (c) The end cuts both consoles, and neither opens again.
    with service.client() as api:
        assert api.post(f"/api/sessions/{session['id']}/end").status_code == 200
    expect(screen).to_have_attribute("data-state", "over", timeout=30_000)
    expect(screen).to_contain_text("terminée")
    expect(serial).to_have_class(re.compile(r"\bended\b"))
    tabs.locator('[data-console="serial"]').click()
    serial.scroll_into_view_if_needed()
    expect(serial).to_contain_text("terminée")
    again = _closed_with(candidate, service, session["id"], "display")
    assert again["code"] == 4000 and "terminée" in again["reason"], again
    again = _closed_with(candidate, service, session["id"], "console")
    assert again["code"] == 4000 and any('"end"' in m for m in again["said"]), again

    # Recorded apart from the SSH terminal's recording, the login and the command included.
    recording = (
        Path(service.env["PRAXIS_DATA_DIR"]) / "recordings" / session["id"] / "console" / "vm.cast"
    )
    events = [json.loads(line) for line in recording.read_text().splitlines()[1:]]
    shown = "".join(text for _, kind, text in events if kind == "o")
    assert "vm login:" in shown and "serial-42 /dev/ttyS0" in shown
