"""The candidate's page at exam scale, in a real browser: the real 90-minute subject at 800 px
wide, the split between subject and terminal, the keyboard, the words; and the site's own pages
for an unknown address and a wrong password."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, enter_exam, labs_held_in_preparation, page, start


def _width(p: Page, selector: str) -> float:
    box = p.locator(selector).bounding_box()
    assert box is not None
    return box["width"]


def _check_layout(p: Page) -> None:
    """Countdown and hand-in stay in view at the end of a long subject; the terminal sits beside
    the subject and follows the splitter, by pointer and by keyboard."""
    p.locator("#subject").evaluate("e => e.scrollTop = e.scrollHeight")
    p.mouse.wheel(0, 5000)
    expect(p.locator("#instructions > :last-child")).to_be_in_viewport()  # the subject's end
    expect(p.locator("#countdown")).to_be_in_viewport()
    expect(p.locator("#submit")).to_be_in_viewport()
    subject = p.locator("#subject").bounding_box()
    terminal = p.locator('.terminal[data-node="web"]').bounding_box()
    assert subject and terminal
    assert terminal["x"] >= subject["x"] + subject["width"]  # beside, not below
    assert terminal["y"] < subject["y"] + subject["height"]

    before = _width(p, "#subject")
    bar = p.locator("#splitter").bounding_box()
    assert bar is not None
    p.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + 100)
    p.mouse.down()
    p.mouse.move(bar["x"] + 150, bar["y"] + 100, steps=5)
    p.mouse.up()
    wider = _width(p, "#subject")
    assert wider > before + 100, (before, wider)
    p.locator("#splitter").focus()
    p.keyboard.press("ArrowLeft")
    p.keyboard.press("ArrowLeft")
    assert _width(p, "#subject") < wider - 40


def _check_keyboard(p: Page) -> None:
    """Before the header, a skip link to the content; from there the hand-in is the next Tab,
    not after the whole subject. (The terminal takes the keys once focused: start above it.)"""
    top = p.locator("header.top").bounding_box()
    assert top is not None
    p.mouse.click(top["x"] + top["width"] / 2, top["y"] + top["height"] / 2)
    p.keyboard.press("Shift+Tab")
    skip = p.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Aller au contenu")
    p.keyboard.press("Enter")
    expect(p.locator("#main")).to_be_focused()
    p.keyboard.press("Tab")
    expect(p.locator("#submit")).to_be_focused()


def _check_terminal_box(p: Page) -> None:
    """The terminal's rows end inside its frame: no strip hanging out under it; and its input
    is named after the node, in the page's language."""
    terminal = p.locator('.terminal[data-node="web"]')
    expect(terminal.get_by_role("textbox", name="Terminal de la machine web")).to_be_attached()
    frame = terminal.bounding_box()
    assert frame
    for part in (".xterm", ".xterm-screen"):  # xterm's element, and the rows drawn in it
        box = terminal.locator(part).bounding_box()
        assert box
        assert box["y"] + box["height"] <= frame["y"] + frame["height"] - 3, (part, frame, box)
        assert box["x"] + box["width"] <= frame["x"] + frame["width"] - 3, (part, frame, box)


def _check_refused_hand_in(p: Page) -> None:
    """A hand-in the server refuses says so, instead of nothing happening."""
    p.route("**/api/sessions/*/submit", lambda route: route.fulfill(status=409, body="{}"))
    p.once("dialog", lambda dialog: dialog.accept())
    p.click("#submit")
    expect(p.locator("#exam-state")).to_have_text(re.compile("n'a pas pu être rendue"))
    expect(p.locator("#submit")).to_be_enabled(timeout=10_000)  # the exam goes on: try again
    p.unroute("**/api/sessions/*/submit")


def test_candidate_page_at_exam_scale(browser: Browser, service: Service) -> None:
    p = page(browser, width=800, height=700)
    with labs_held_in_preparation():  # while the lab is built: no hand-in yet
        session = start(service, "amp-stack", "Léa Martin")
        enter_exam(p, service, session)
        expect(p.locator("#exam-state")).to_have_text(re.compile("en cours de préparation"))
        expect(p.locator("#submit")).to_be_disabled()
        expect(p.locator("#countdown")).to_have_text("--:--")  # the clock waits for the lab
    service.wait(session["id"], "ready")
    expect(p.locator('#nodes li[data-node="web"] .state')).to_have_text("en marche", timeout=10_000)
    expect(p.locator("#submit")).to_be_enabled()
    expect(p.locator("#countdown")).to_have_text(re.compile(r"^1:\d\d:\d\d$"), timeout=30_000)
    _check_layout(p)
    _check_keyboard(p)

    p.once("dialog", lambda dialog: dialog.dismiss())
    p.click("#sign-out")
    expect(p.locator("#exam")).to_be_visible()
    expect(p).to_have_url(re.compile(f"/exam/{session['id']}(#main)?$"))  # still signed in
    p.set_viewport_size({"width": 1280, "height": 800})
    expect(p.locator('.terminal[data-node="web"]')).to_contain_text("@web", timeout=30_000)
    _check_terminal_box(p)
    doc_shot(p, "candidate-page")
    _check_refused_hand_in(p)


def test_unknown_page_wrong_code_and_wrong_password(browser: Browser, service: Service) -> None:
    p = page(browser)
    p.goto(f"{service.url}/exam")
    p.fill("#code", "ABCD-EFGH")
    p.click("#start")
    expect(p.locator("p.error")).to_have_text("Code d'examen inconnu.")
    expect(p.locator("#code")).to_have_value("ABCD-EFGH")  # kept, to correct a typo

    reply = p.goto(f"{service.url}/staff/nowhere")
    assert reply is not None and reply.status == 404
    expect(p.locator("#not-found h1")).to_have_text("404 — Page introuvable")
    expect(p.locator("#lang-switch")).to_be_visible()  # the site's own layout
    api = httpx.get(f"{service.url}/api/nowhere", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json() == {"error": "not_found", "detail": "Not Found"}

    p.goto(f"{service.url}/login")
    p.fill("input[name=name]", "juliette")
    p.fill("input[name=password]", "not-the-password")
    p.click("#sign-in")
    expect(p.locator("p.error")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(p.locator("input[name=name]")).to_have_value("juliette")
    expect(p.locator("input[name=password]")).to_be_focused()
