"""A graded session as the jury reads it, in a real browser: French statuses and findings,
points out of the weight, one override form, the overridden criterion's new status, evidence as
it ran, and the PDF's own words and numbers."""

from __future__ import annotations

import io
import re

from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.integration.conftest import Service
from tests.integration.ui import doc_shot, examiner_password, page, sign_in, start


def _graded(service: Service) -> str:
    """A `quick` session extended once, then ended by an examiner before any work: the answer
    file is missing."""
    session = start(service, "quick", "Zoé Durand")
    service.wait(session["id"], "ready")
    with service.client() as api:
        extend = {"minutes": 5, "reason": "coupure réseau"}
        assert api.post(f"/api/sessions/{session['id']}/extend", json=extend).status_code == 200
        assert api.post(f"/api/sessions/{session['id']}/end").status_code == 200
    service.wait(session["id"], "graded")
    return session["id"]


def _check_grade(p: Page) -> None:
    expect(p.locator("#end-reason")).to_contain_text("terminée par l'examinateur")
    heads = p.locator("#result thead th")
    expect(heads).to_have_text(["Critère", "Poids", "Points", "Statut", "Preuves"])
    answer = p.locator('#result tr[data-criterion="answer-file"]')
    expect(answer.locator(".status")).to_contain_text("Échoué")
    expect(answer.locator(".message")).to_have_text("/root/answer.txt n'existe pas")
    expect(answer.locator(".points-value")).to_have_text("0 / 2")
    ssh = p.locator('#result tr[data-criterion="sshd-listens"]')
    expect(ssh.locator(".status")).to_contain_text("Réussi")
    expect(ssh.locator(".message")).to_have_text("port TCP 22 ouvert depuis le réseau")
    host = p.locator('#result tr[data-criterion="hostname"]')
    expect(host.locator(".message")).to_have_text("code de retour 0, la sortie montre 'web'")
    host.locator("summary").click()
    expect(host.locator("code.command")).to_have_text("$ hostname")
    _check_evidence_words(p)
    expect(p.locator("#total")).to_have_text(re.compile(r"^2 / 4 points — 50,0\s%$"))
    expect(p.locator("body")).not_to_contain_text(re.compile(r"\b(passed|failed|partial)\b"))


def _check_evidence_words(p: Page) -> None:
    """What the platform observed from outside the node is worded, not shown as a command; the
    id stands alone without a referential; the summary and the score buttons say what they are."""
    answer = p.locator('#result tr[data-criterion="answer-file"]')
    expect(answer.locator(".criterion-id")).to_have_text("answer-file")
    expect(answer.locator("summary")).to_have_text("Preuves (1)")
    answer.locator("summary").click()
    expect(answer.locator("code.command")).to_have_text(
        "lecture de /root/answer.txt (depuis l'hôte)"
    )
    expect(answer.locator(".evidence pre")).to_have_text("fichier absent")
    ssh = p.locator('#result tr[data-criterion="sshd-listens"]')
    ssh.locator("summary").click()
    expect(ssh.locator("code.command")).to_have_text(re.compile(r"^connexion TCP à \S+:22$"))
    expect(ssh.locator(".evidence pre")).to_have_text("connexion établie")
    edit = p.get_by_role("button", name="Modifier la note — SSH écoute", exact=True)
    expect(edit).to_have_count(1)


def _check_pdf(text: str) -> None:
    for words in ("3 / 4 points — 75,0 %", "Poids", "Partiel", "1 / 2", "n'existe pas"):
        assert words in text, words
    assert "lecture de /root/answer.txt (depuis l'hôte)" in text and "fichier absent" in text
    assert "from the host" not in text and "Réf." not in text  # no criterion has a referential
    steps = ["Échéance initiale", "Prolongation", "+5 min — coupure réseau", "Échéance finale"]
    places = [text.index(step) for step in steps]
    assert places == sorted(places), places


def _override(p: Page) -> None:
    """One form for the whole table, opened from the row; points as the table shows them."""
    expect(p.locator("main form")).to_have_count(1)  # not one per criterion
    dialog = p.locator("#override-dialog")
    expect(dialog).to_be_hidden()
    p.locator('#result tr[data-criterion="answer-file"] button.edit-score').click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Le fichier réponse existe")
    dialog.locator("input[name=points]").fill("1")
    dialog.locator("textarea[name=justification]").fill("Réponse écrite dans un autre fichier.")
    dialog.locator("#override-save").click()
    answer = p.locator('#result tr[data-criterion="answer-file"]')
    expect(answer.locator(".points-value")).to_have_text("1 / 2")
    expect(answer.locator(".status")).to_contain_text("Partiel")
    expect(answer.locator("mark.changed")).to_have_text("modifié")
    expect(p.locator("#total")).to_have_text(re.compile(r"^3 / 4 points — 75,0\s%$"))
    expect(p.locator("#original-total")).to_contain_text("50,0")


def test_results_a_jury_can_read(browser: Browser, service: Service) -> None:
    session_id = _graded(service)
    name, password = examiner_password(service)
    p = page(browser)
    sign_in(p, service, name, password)
    p.goto(f"{service.url}/staff/sessions/{session_id}")
    _check_grade(p)
    _override(p)
    doc_shot(p, "results")

    with service.client() as api:
        pdf = api.get(f"/api/sessions/{session_id}/report.pdf", params={"lang": "fr"})
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    _check_pdf(re.sub(r"\s+", " ", text))
