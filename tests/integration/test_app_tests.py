"""The app-tests exam on a real lab, its three files run in real sandboxes: a hurried
candidate loses exactly the points of what they skipped, whatever they then do to the node's
own Python; a hostile one (a module that floods and hangs, tests that fake their success, a
recipe book too large to read) scores nothing, in bounded time, without stalling the grading.
Its solution and its blank lab: tests/integration/test_exams.py."""

from __future__ import annotations

import re
from pathlib import Path

from graders.report import GradeReport
from tests.integration.conftest import solved_with, verdicts
from tests.unit.test_app_tests import solution_file

WEAK_TESTS = """from prets import Bibliotheque, isbn_valide, penalite


def test_isbn():
    assert isbn_valide("978-2-07-036002-4")


def test_penalite():
    assert penalite(1) == 0.2


def test_inscrire():
    b = Bibliotheque()
    b.inscrire("Ana")
    assert b.prets_de("Ana") == []


def test_emprunter():
    b = Bibliotheque()
    b.ajouter_livre("9782070360024", "L'Étranger")
    b.inscrire("Ana")
    b.emprunter("9782070360024", "Ana")
    assert b.prets_de("Ana") == ["9782070360024"]


def test_disponibles():
    b = Bibliotheque()
    b.ajouter_livre("9782070360024", "L'Étranger")
    assert b.disponibles() == ["9782070360024"]
"""
THIN_BOOK = """| ID | Fonctionnalité | Données | Résultat attendu | Résultat obtenu | Statut |
|---|---|---|---|---|---|
| 1 | isbn_valide | 978-2-07-036002-4 | True | True | OK |
| 2 | penalite | 1 jour | 0,20 € | 0,20 € | OK |
| 3 | emprunter | Ana, L'Étranger | prêté | prêté | OK |
| 4 | emprunter | Ana, livre inconnu | KeyError | KeyError | OK |
"""
HOSTILE_MODULE = """import sys

sys.stdout.write("A" * (1 << 20))  # floods whatever reads its output


class Bibliotheque:
    def __init__(self, max_prets=3):
        while True:  # never answers
            pass
"""
HOSTILE_TESTS = "import os\n\nos._exit(0)  # 'passes', whatever the module does\n"


def _variant(tmp_path: Path, files: dict[str, str], after: str = "") -> GradeReport:
    """The reference solution with some of the candidate's files replaced, and `after` run
    last (as root on the node), graded as `scenario test` does."""

    def edit(text: str) -> str:
        for name, content in files.items():
            heredoc = re.compile(
                rf"(cat > \"\$PROJECT/{re.escape(name)}\" <<'EOF'\n)(.*?)(\nEOF\n)", re.S
            )
            assert heredoc.search(text), name
            text = heredoc.sub(lambda m, c=content: m.group(1) + c.rstrip("\n") + m.group(3), text)
        text = text.replace("runuser -u candidat -- python3 -m pytest", "true")  # they may fail
        return text + after

    return solved_with(tmp_path, "app-tests", "dev.sh", edit)


def test_a_hurried_candidate_loses_exactly_what_they_skipped(tmp_path: Path) -> None:
    module = solution_file("prets.py")
    capped = "min(round(jours_retard * 0.20, 2), 5.00)"
    assert capped in module
    files = {
        "prets.py": module.replace(capped, "round(jours_retard * 0.20, 2)"),
        "tests/test_prets.py": WEAK_TESTS,
        "cahier-de-recettes.md": THIN_BOOK,
    }
    # What the candidate's root does to the node's Python weighs nothing: it is not used.
    report = _variant(tmp_path, files, after="rm -f /usr/bin/python3*\n")
    seen = verdicts(report)
    assert seen["acceptance"][0] == round(12 / 13, 4), seen
    assert seen["acceptance"][1].startswith(
        "penalite-bornes: penalite(26) returns 5.2, expected: returns 5.0"
    ), seen
    assert seen["own-tests"] == (1.0, "5 tests pass; 5 tests"), seen
    assert seen["coverage"][0] == 0 and "80% expected" in seen["coverage"][1], seen
    assert seen["tests-catch-bugs"][0] == round(1 / 8, 4), seen
    assert "they miss: the late fee has no ceiling" in seen["tests-catch-bugs"][1], seen
    assert seen["recipe-book"] == (
        0.6,
        "4 cases, at least 10 expected; 3 of the subject's functions covered, 6 expected",
    ), seen


def test_a_hostile_candidate_scores_nothing_in_bounded_time(tmp_path: Path) -> None:
    files = {"prets.py": HOSTILE_MODULE, "tests/test_prets.py": HOSTILE_TESTS}
    flood = (
        'head -c 5000000 /dev/zero | tr "\\\\0" "|" > /home/candidat/prets/cahier-de-recettes.md\n'
    )
    report = _variant(tmp_path, files, after=flood)
    seen = verdicts(report)
    assert report.percent == 0, seen
    assert {c.status for c in report.criteria} == {"failed"}, seen  # graded, not `error`
    assert seen["recipe-book"][1] == (
        "/home/candidat/prets/cahier-de-recettes.md is larger than 128 KiB"
    )
    assert "not run: 30s spent" in seen["acceptance"][1], seen
    assert seen["own-tests"][1] == "the tests do not run; 0 tests, at least 5 expected"
