"""The app-tests exam's parts, without a lab: the hidden acceptance programs and mutants
against the reference and the shipped solution, the harness facing hostile modules, and the
grader's reading of pytest, coverage and the recipe book. The sandboxes: tests/integration."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

import graders.app_tests as app
from graders.app_tests import acceptance, harness, mutants, reference
from graders.sandbox import LABEL, NOBODY, SWEEP_AFTER, DockerSandbox, archive
from tests.integration.conftest import ROOT

SOLUTION = (ROOT / "scenarios" / "app-tests" / "solution" / "dev.sh").read_text()


def solution_file(name: str) -> str:
    """A file the solution script writes, from its here-document."""
    found = re.search(
        rf'cat > "\$PROJECT/{re.escape(name)}" <<\'EOF\'\n(.*?)\nEOF\n', SOLUTION, re.S
    )
    assert found, name
    return found.group(1) + "\n"


def module(source: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    loaded = types.ModuleType("prets")
    monkeypatch.setitem(sys.modules, "prets", loaded)  # dataclasses look their module up
    exec(compile(source, "prets.py", "exec"), loaded.__dict__)
    return loaded


EXPECTED = {name: harness.observe(reference, p) for name, p in acceptance.PROGRAMS.items()}


def test_the_solution_meets_every_acceptance_program(monkeypatch: pytest.MonkeyPatch) -> None:
    solved = module(solution_file("prets.py"), monkeypatch)
    for name, program in acceptance.PROGRAMS.items():
        assert harness.observe(solved, program) == EXPECTED[name], name


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_fails_an_acceptance_program(
    mutant: mutants.Mutant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutant the jury's own tests cannot tell from the reference would be no bug at all."""
    broken = module(mutants.sources()[mutant.name], monkeypatch)
    assert any(harness.observe(broken, p) != EXPECTED[n] for n, p in acceptance.PROGRAMS.items())


def _pytest(tmp_path: Path, prets: str, tests: str) -> int:
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "prets.py").write_text(prets)
    (tmp_path / "tests" / "test_prets.py").write_text(tests)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_prets.py"]
    # As in the sandbox: no bytecode (a mutant as long as the reference, written in the same
    # second, would be run from the reference's cached .pyc), no plugins.
    quick = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        argv, cwd=tmp_path, env=quick, capture_output=True, check=False
    ).returncode


def test_the_solution_tests_pass_on_the_reference_and_catch_every_mutant(tmp_path: Path) -> None:
    tests = solution_file("tests/test_prets.py")
    assert _pytest(tmp_path, mutants.REFERENCE.read_text(), tests) == 0
    for name, source in mutants.sources().items():
        assert _pytest(tmp_path, source, tests) != 0, name


def test_a_mutant_whose_edit_is_not_in_the_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="not once"):
        mutants.Mutant("x", "y", (("no such text", ""),)).source("class A: pass")


def _run_harness(tmp_path: Path, prets: str, *budget: str) -> dict[str, dict[str, object]]:
    (tmp_path / "prets.py").write_text(prets)
    programs = tmp_path / "programs.json"
    programs.write_text(json.dumps(acceptance.PROGRAMS))
    done = subprocess.run(
        [sys.executable, harness.__file__, str(programs), *budget],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return app._answers(done.stdout)


def test_the_harness_reports_what_a_module_does_and_the_grader_compares(tmp_path: Path) -> None:
    source = solution_file("prets.py").replace("0.20", "0.25")  # a wrong daily fee
    answers = _run_harness(tmp_path, source + "\nprint('noise from the module')\n")
    verdicts = {n: app._compare(n, p, answers.get(n)) for n, p in acceptance.PROGRAMS.items()}
    assert [n for n, (ok, _) in verdicts.items() if not ok] == ["penalite-bornes"]
    assert verdicts["penalite-bornes"][1] == (
        "penalite-bornes: penalite(1) returns 0.25, expected: returns 0.2"
    )


def test_a_module_that_hangs_costs_at_most_the_harness_budget(tmp_path: Path) -> None:
    answers = _run_harness(tmp_path, "import time\ntime.sleep(3600)\n", "7")
    assert set(answers) == set(acceptance.PROGRAMS)
    errors = [" ".join(a["error"]) for a in answers.values()]  # type: ignore[arg-type]
    assert any("no answer in 5s" in e for e in errors)
    assert any("not run: 7s spent" in e for e in errors)


def test_a_module_that_does_not_import_fails_every_program(tmp_path: Path) -> None:
    answers = _run_harness(tmp_path, "raise SystemExit('no')\n")
    for name, program in acceptance.PROGRAMS.items():
        ok, said = app._compare(name, program, answers.get(name))
        assert not ok and said.startswith(f"{name}: "), said


def test_missing_answers_and_junk_lines() -> None:
    output = 'garbage\n{"case": 3}\n[1]\n{"case": "membres", "steps": [["none", null]]}\n'
    answers = app._answers(output)
    assert list(answers) == ["membres"]
    program = acceptance.PROGRAMS["membres"]
    assert app._compare("membres", program, answers["membres"]) == (
        False,
        "membres: inscrire('Zoé') gives nothing readable, expected: returns None",
    )
    assert app._compare("catalogue", acceptance.PROGRAMS["catalogue"], None) == (
        False,
        "catalogue: no answer",
    )


def test_pytest_and_coverage_outputs_are_read_from_their_last_lines() -> None:
    output = (
        "prets.py 10 0 100%\n"  # printed by a test: the report comes after
        "..F.\nFAILED tests/test_prets.py::test_x - assert 1 == 2\n"
        "1 failed, 3 passed in 0.05s\n"
        "Name       Stmts   Miss  Cover\n------\nprets.py      60      9    85%\n"
    )
    assert app._counts(output) == (3, 1)
    assert app._coverage(output) == 85
    assert app._failures(output) == "tests/test_prets.py::test_x"
    assert app._counts("no tests ran in 0.01s") == (0, 0)
    assert app._coverage("No data to report.") is None


BOOK_HEAD = (
    "| ID | Fonctionnalité | Données | Résultat attendu | Résultat obtenu | Statut |\n"
    "|---|---|---|---|---|---|\n"
)


def test_the_solution_recipe_book_is_complete() -> None:
    findings = app.recipe_book(solution_file("cahier-de-recettes.md"))
    assert all(ok for ok, _ in findings), findings


def test_a_thin_recipe_book_fails_what_it_lacks() -> None:
    rows = "".join(f"| R1 | emprunter | x | y | y | {s} |\n" for s in ("OK", "Bon"))
    findings = dict(
        (text, ok)
        for ok, text in app.recipe_book(
            "# Cahier\n" + BOOK_HEAD + rows + "| R3 | rendre | | y | y | OK |\n"
        )
    )
    assert findings == {
        "3 cases, at least 10 expected": False,
        "1 cases incomplete": False,
        "case IDs repeated": False,
        "statuses other than OK or KO": False,
        "1 of the subject's functions covered, 6 expected": False,
    }


def test_a_recipe_book_without_the_columns_is_no_table() -> None:
    text = "| ID | Test | Attendu |\n|---|---|---|\n| 1 | a | b |\n"
    assert app.recipe_book(text) == [(False, "no table with the columns " + ", ".join(app.COLUMNS))]
    assert not app.recipe_book(BOOK_HEAD.splitlines()[0])[0][0]  # a header without its rule


def test_the_sandbox_archive_is_nobodys_and_dated_alike() -> None:
    data = archive({"tests/test_prets.py": b"t", "prets.py": b"p"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert [(m.name, m.isdir()) for m in members] == [
        ("tests", True),
        ("prets.py", False),
        ("tests/test_prets.py", False),
    ]
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(NOBODY, NOBODY, 0)}


def test_the_sandbox_sweeps_what_a_killed_grader_left_long_ago_once() -> None:
    now = time.time()
    removed: list[str] = []
    listed = [{"Id": "old", "Created": now - 2 * SWEEP_AFTER}, {"Id": "recent", "Created": now}]
    api = SimpleNamespace(
        containers=lambda all, filters: (
            listed if filters == {"label": LABEL, "status": "exited"} else []
        ),
        remove_container=lambda cid, force: removed.append(cid),
    )
    sandbox = DockerSandbox(SimpleNamespace(api=api))  # type: ignore[arg-type]
    sandbox._sweep()
    sandbox._sweep()
    assert removed == ["old"]
