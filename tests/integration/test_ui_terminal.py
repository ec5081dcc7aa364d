"""The candidate's browser terminal as they use it on exam day, in Debian's Chromium against a
real lab: focus on arrival, accents typed, pasted and composed reach the shell and its files
intact (UTF-8 on every login path), underscores are drawn, and the ended terminal stays
readable. Checks are on what the candidate sees: the terminal's text and its pixels."""

from __future__ import annotations

import re
from collections import Counter
from io import BytesIO

import docker
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, enter_exam, page, shot, start

ACCENTS = "Émile Zola — épreuve ça va"
PASTED = "Les Misérables"
COMPOSED = "tête"  # ê from the dead key ^ then e, as a French keyboard composes it


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _pixels(p: Page, row: Locator) -> list[list[tuple[int, int, int]]]:
    """The row as the candidate sees it: pixel rows of RGB, from a screenshot."""
    box = row.bounding_box()
    assert box is not None
    image = Image.open(BytesIO(p.screenshot(clip=box))).convert("RGB")
    raw, width = image.tobytes(), image.width
    return [
        [(raw[i], raw[i + 1], raw[i + 2]) for i in range(y * width * 3, (y + 1) * width * 3, 3)]
        for y in range(image.height)
    ]


def _type(p: Page, terminal: Locator, command: str, shows: str | re.Pattern[str]) -> None:
    p.keyboard.type(command + "\n")
    expect(terminal).to_contain_text(shows, timeout=15_000)


def _compose(p: Page, dead: str, text: str) -> None:
    """A dead key then a letter: Chromium's composition events, as with a French layout."""
    cdp = p.context.new_cdp_session(p)
    cdp.send("Input.imeSetComposition", {"text": dead, "selectionStart": 1, "selectionEnd": 1})
    cdp.send("Input.insertText", {"text": text})
    cdp.detach()


def _node_file(session_id: str, path: str) -> bytes:
    container = docker.from_env().containers.get(f"praxis-{session_id}-web")
    code, out = container.exec_run(["cat", path], user="0:0")
    assert code == 0, out
    return bytes(out)


def test_terminal_focus_accents_underscores_and_ended_contrast(
    browser: Browser, service: Service
) -> None:
    session = start(service, "hostile", "Émilie Zoé")  # a 10-minute exam, ended by hand
    candidate = page(browser)
    enter_exam(candidate, service, session)  # early, while the lab is being built: the
    # terminal waits for it and connects by itself
    terminal = candidate.locator('.terminal[data-node="web"]')
    expect(terminal).to_contain_text("candidat@web", timeout=60_000)
    # The shell opens on its prompt: no kernel line, licence text or last login (in UTC).
    for banner in ("ABSOLUTELY NO WARRANTY", "Last login", "Linux web"):
        expect(terminal).not_to_contain_text(banner)

    # Focus: the keys reach the shell without a click into the terminal.
    _type(candidate, terminal, "echo focus-$((6*7))", "focus-42")

    # Accents typed, pasted (text inserted at once) and composed: byte for byte in the lab.
    candidate.keyboard.type(f"echo '{ACCENTS}' > ~/accents\n")
    candidate.keyboard.insert_text(f"echo '{PASTED}' >> ~/accents")
    candidate.keyboard.press("Enter")
    candidate.keyboard.type("echo 't")
    _compose(candidate, "^", "ê")
    expect(terminal).to_contain_text("echo 'tê")  # a person's next key comes later
    candidate.keyboard.type("te' >> ~/accents\n")
    candidate.keyboard.type("cat ~/accents; locale | sed -n 's/^LANG=/me:/p'\n")
    expect(terminal).to_contain_text(re.compile(r"me:\S*UTF-8"), timeout=15_000)
    for text in (ACCENTS, PASTED, COMPOSED):
        expect(terminal).to_contain_text(re.compile(r"\s".join(map(re.escape, text.split()))))
    expect(terminal).not_to_contain_text("\\303")
    wanted = f"{ACCENTS}\n{PASTED}\n{COMPOSED}\n".encode()
    assert _node_file(session["id"], "/home/candidat/accents") == wanted

    # Root's login shell (`sudo -i`) has a UTF-8 locale too.
    password = candidate.locator("#account-password").inner_text()
    _type(candidate, terminal, "sudo -i", "password for candidat")
    _type(candidate, terminal, password, "root@web")
    candidate.keyboard.type(f"echo '{ACCENTS}' > /root/accents\n")
    _type(candidate, terminal, "locale | sed -n 's/^LANG=/root:/p'", re.compile(r"root:\S*UTF-8"))
    assert _node_file(session["id"], "/root/accents") == f"{ACCENTS}\n".encode()
    _type(candidate, terminal, "exit", re.compile(r"logout\s*candidat@web"))

    # Underscores: the pixel rows under a line of 40 of them are lit, not background.
    _type(candidate, terminal, "clear; printf '%.0s_' $(seq 40); echo", "candidat@web")
    underscores = terminal.locator(".xterm-rows > div", has_text=re.compile(r"^_{40}\s*$"))
    image = _pixels(candidate, underscores)
    lit = [sum(1 for px in line if sum(px) > 300) for line in image]
    cell = len(image[0]) / terminal.evaluate("el => el.terminal.cols")
    assert max(lit) >= 0.8 * 40 * cell, f"underscores not drawn: lit pixels per row {lit}"
    _type(candidate, terminal, f"echo x86_64 colibri_app '{ACCENTS}'", "colibri_app")
    doc_shot(candidate, "terminal-accents")

    # The end: the terminal says so and its text stays readable (WCAG AA, 4.5:1).
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.click("#submit")
    expect(terminal).to_contain_text("terminée", timeout=30_000)
    # Over, the page says so everywhere: no countdown at 00:00, no machine "en marche".
    expect(candidate.locator('#nodes li[data-node="web"] .state')).to_have_text("figée")
    expect(candidate.locator("#countdown")).to_be_hidden()
    expect(candidate.locator("#submit")).to_be_hidden()
    shot(candidate, "terminal-ended")
    row = terminal.locator(".xterm-rows > div", has_text="colibri_app").last
    pixels = [px for line in _pixels(candidate, row) for px in line]
    background: tuple[int, int, int] = Counter(pixels).most_common(1)[0][0]
    ink = max(pixels, key=lambda px: _contrast(px, background))
    assert _contrast(ink, background) >= 4.5, (ink, background)
