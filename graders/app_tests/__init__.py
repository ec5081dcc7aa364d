"""Checks of the app-tests scenario: the candidate's module, their tests and their recipe book,
judged once per grading away from their node.

The three files are read from the frozen node through the host's view (the node's tools are
never asked) and run in fresh sandboxes of a clean image (graders.sandbox):
- the hidden acceptance programs (graders.app_tests.acceptance) against their module, what
  each call did compared with what the reference does (the expected never enters a sandbox);
- their tests against their module, under coverage;
- their tests against the reference, which they must pass, then against each mutant
  (graders.app_tests.mutants), which they must fail: one sandbox per run, so a run's verdict
  is its exit status alone.
"""

from __future__ import annotations

import json
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.app_tests import acceptance, harness, mutants, reference
from graders.contract import TIMED_OUT, CheckContext, CheckResult, CommandResult, GraderError
from graders.exercise import Finding, Steps, criterion, once, said
from graders.patterns import compile_pattern as rx  # RE2: the text is the candidate's

PROJECT = "/home/candidat/prets"
MODULE, TESTS, BOOK = "prets.py", "tests/test_prets.py", "cahier-de-recettes.md"
MAX_FILE = 128 << 10
TEST_SECONDS = 30.0
MIN_TESTS = 5
MIN_COVERAGE = 80
MIN_CASES = 10
MIN_FUNCTIONS = 6
COLUMNS = ("id", "fonctionnalite", "donnees", "resultat attendu", "resultat obtenu", "statut")
FUNCTIONS = "isbn_valide penalite ajouter_livre inscrire emprunter rendre disponibles prets_de"
PYTEST = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
# Their tests under coverage, then its report of their module: the verdict is the tests' status.
COVERED = [
    "sh",
    "-c",
    "COVERAGE_FILE=/tmp/coverage python3 -m coverage run --include=prets.py -m pytest -q "
    f"-p no:cacheprovider {TESTS}; s=$?; "
    "COVERAGE_FILE=/tmp/coverage python3 -m coverage report --include=prets.py; exit $s",
]


@dataclass
class Project:
    steps: Steps = field(default_factory=Steps)

    def judge(self, ctx: CheckContext, *names: str) -> CheckResult:
        return self.steps.judge(ctx, "files", *names, unexercised="not graded")


def project(ctx: CheckContext, node: str) -> Project:
    return once(ctx, node, "app-tests", lambda: _Grading(ctx, node).all())


class _Grading:
    def __init__(self, ctx: CheckContext, node: str) -> None:
        if ctx.sandbox is None:
            raise GraderError("no sandbox to run the candidate's code in")
        self.ctx, self.node, self.sandbox = ctx, node, ctx.sandbox
        self.files: dict[str, bytes | str] = {}  # bytes: read; str: why not
        self.done = Project()
        self.covered: CommandResult | None = None

    def all(self) -> Project:
        steps = self.done.steps
        steps.run(self.ctx, "files", self.read)
        steps.run(self.ctx, "acceptance", self.acceptance)
        steps.run(self.ctx, "own-tests", self.own_tests)
        steps.run(self.ctx, "coverage", self.coverage)
        steps.run(self.ctx, "mutants", self.mutants)
        steps.run(self.ctx, "book", self.book)
        return self.done

    def read(self, ctx: CheckContext) -> list[Finding]:
        for name in (MODULE, TESTS, BOOK):
            start = time.monotonic()
            path = f"{PROJECT}/{name}"
            info = ctx.view(self.node).read(path, MAX_FILE)
            if info is None or info.kind != "file" or info.content is None:
                self.files[name] = f"no {path}"
            elif info.truncated:
                self.files[name] = f"{path} is larger than {MAX_FILE >> 10} KiB"
            else:
                self.files[name] = info.content
            found = self.files[name]  # the content read, or why not
            shown = found.decode("utf-8", "replace") if isinstance(found, bytes) else found
            status = 0 if isinstance(found, bytes) else 1
            ctx.record(self.node, f"read {path} (from the host)", status, shown, start, "host")
        return []

    def present(self, *names: str) -> list[Finding]:
        """Why the files `names` cannot be judged (absent, too large), as findings."""
        return [(False, why) for name in names if isinstance(why := self.files[name], str)]

    def run(
        self, ctx: CheckContext, what: str, files: dict[str, bytes], argv: list[str], timeout: float
    ) -> CommandResult:
        start = time.monotonic()
        done = self.sandbox.run(files, argv, timeout)
        output = done.stdout + ("\n[output cut by the grader's cap]" if done.truncated else "")
        ctx.record(self.node, f"sandbox: {what}", done.status, output, start, "outside")
        return done

    def acceptance(self, ctx: CheckContext) -> list[Finding]:
        if missing := self.present(MODULE):
            return missing
        programs = acceptance.PROGRAMS
        files = {
            MODULE: self.file(MODULE),
            "harness.py": Path(harness.__file__).read_bytes(),
            "programs.json": json.dumps(programs).encode(),
        }
        budget = harness.TOTAL_SECONDS + 30
        done = self.run(
            ctx,
            "the hidden acceptance programs against prets.py",
            files,
            ["python3", "harness.py", "programs.json"],
            budget,
        )
        seen = _answers(done.stdout)
        return [_compare(name, program, seen.get(name)) for name, program in programs.items()]

    def own_tests(self, ctx: CheckContext) -> list[Finding]:
        if missing := self.present(MODULE, TESTS):
            return missing
        files = {MODULE: self.file(MODULE), TESTS: self.file(TESTS)}
        self.covered = done = self.run(
            ctx, f"{TESTS} against prets.py, under coverage", files, COVERED, TEST_SECONDS
        )
        passed, failed = _counts(done.stdout)
        if done.status == TIMED_OUT:
            return [(False, f"the tests did not end in {TEST_SECONDS:g}s")]
        return [
            said(
                done.status == 0 and passed > 0 and not failed,
                f"{passed} tests pass",
                f"{failed} of {passed + failed} tests fail" if failed else "the tests do not run",
            ),
            said(
                passed + failed >= MIN_TESTS,
                f"{passed + failed} tests",
                f"{passed + failed} tests, at least {MIN_TESTS} expected",
            ),
        ]

    def coverage(self, ctx: CheckContext) -> list[Finding]:
        if self.covered is None:
            return self.present(MODULE, TESTS)
        percent = _coverage(self.covered.stdout)
        if percent is None:
            return [(False, "no coverage measured (the tests do not run)")]
        return [
            said(
                percent >= MIN_COVERAGE,
                f"the tests cover {percent}% of prets.py",
                f"the tests cover {percent}% of prets.py, {MIN_COVERAGE}% expected",
            )
        ]

    def mutants(self, ctx: CheckContext) -> list[Finding]:
        if missing := self.present(TESTS):
            return missing
        tests = self.file(TESTS)
        right = mutants.REFERENCE.read_bytes()
        done = self.run(
            ctx,
            f"{TESTS} against a correct prets.py",
            {MODULE: right, TESTS: tests},
            PYTEST,
            TEST_SECONDS,
        )
        if done.status != 0:
            return [(False, "the tests fail on a correct prets.py: " + _failures(done.stdout))]
        sources = mutants.sources()

        def run(m: mutants.Mutant) -> tuple[Finding, CheckContext]:
            files = {MODULE: sources[m.name].encode(), TESTS: tests}
            own = ctx.fresh()  # its evidence, added in the mutants' order
            done = self.run(
                own, f"{TESTS} against a prets.py where {m.breaks}", files, PYTEST, TEST_SECONDS
            )
            return said(done.status != 0, f"they catch: {m.breaks}", f"they miss: {m.breaks}"), own

        with ThreadPoolExecutor(max_workers=4) as pool:
            ran = list(pool.map(run, mutants.MUTANTS))
        for _, own in ran:
            ctx.evidence.extend(own.evidence)
        return [finding for finding, _ in ran]

    def book(self, ctx: CheckContext) -> list[Finding]:
        if missing := self.present(BOOK):
            return missing
        return recipe_book(self.file(BOOK).decode("utf-8", "replace"))

    def file(self, name: str) -> bytes:
        content = self.files[name]
        return content if isinstance(content, bytes) else b""


def _answers(output: str) -> dict[str, Any]:
    """The harness's line for each program, by name (a line the module printed is skipped)."""
    answers: dict[str, Any] = {}
    for line in output.splitlines():
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and isinstance(answer.get("case"), str):
            answers.setdefault(answer["case"], answer)
    return answers


def _call(step: list[Any]) -> str:
    if step[0] == "new":
        return f"Bibliotheque({', '.join(f'{k}={v!r}' for k, v in step[1].items())})"
    return f"{step[1]}({', '.join(repr(a) for a in step[2:])})"


def _said(seen: Any) -> str:
    if not isinstance(seen, list) or len(seen) != 2:
        return "gives nothing readable"
    kind, value = seen
    return f"raises {value}" if kind == "raised" else f"returns {value!r}"


def _compare(name: str, program: acceptance.Program, answer: Any) -> Finding:
    """Program `name` as the candidate's module did it, against the reference."""
    if answer is None:
        return False, f"{name}: no answer"
    if "error" in answer:
        return False, f"{name}: {' '.join(str(e) for e in answer['error'])[:200]}"
    expected = harness.observe(reference, program)
    got = answer.get("steps")
    for i, (step, want) in enumerate(zip(program, expected, strict=True)):
        have = got[i] if isinstance(got, list) and i < len(got) else None
        if have != want:
            return False, f"{name}: {_call(step)} {_said(have)}, expected: {_said(want)}"
    return True, f"{name}: as specified"


def _counts(output: str) -> tuple[int, int]:
    """(passed, failed) from pytest's last summary line."""
    summary = [line for line in output.splitlines() if rx(r"\d+ (passed|failed)").search(line)]
    if not summary:
        return 0, 0
    found = dict((k, int(n)) for n, k in rx(r"(\d+) (passed|failed|error)").findall(summary[-1]))
    return found.get("passed", 0), found.get("failed", 0) + found.get("error", 0)


def _coverage(output: str) -> int | None:
    """The percentage coverage's report gives prets.py (its last line for it)."""
    found = rx(r"(?m)^prets\.py\s+\d+\s+\d+\s+(\d+)%\s*$").findall(output)
    return int(found[-1]) if found else None


def _failures(output: str) -> str:
    failed = rx(r"(?m)^(?:FAILED|ERROR) (\S+)").findall(output)
    if failed:
        return ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _plain(text: str) -> str:
    """Lower case, accents and outer spaces dropped: how a column's name is recognised."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def recipe_book(text: str) -> list[Finding]:
    """The recipe book's table: its columns, its cases, each complete, OK or KO, and the
    subject's functions it covers."""
    lines = text.splitlines()
    header = next(
        (i for i, line in enumerate(lines) if tuple(map(_plain, _cells(line))) == COLUMNS), None
    )
    if header is None or not line_is_rule(lines, header + 1):
        return [(False, "no table with the columns " + ", ".join(COLUMNS))]
    rows = []
    for line in lines[header + 2 :]:
        if not line.strip().startswith("|"):
            break
        rows.append(_cells(line))
    complete = [r for r in rows if len(r) == len(COLUMNS) and all(r)]
    ids = [r[0] for r in complete]
    statuses = {r[-1].upper() for r in complete}
    covered = {f for f in FUNCTIONS.split() for r in complete if f in r[1]}
    return [
        said(
            len(rows) >= MIN_CASES,
            f"{len(rows)} cases",
            f"{len(rows)} cases, at least {MIN_CASES} expected",
        ),
        said(
            len(complete) == len(rows) > 0,
            "every case complete",
            f"{len(rows) - len(complete)} cases incomplete",
        ),
        said(len(set(ids)) == len(ids) > 0, "each case its own ID", "case IDs repeated"),
        said(
            statuses <= {"OK", "KO"} and bool(statuses),
            "each case's status OK or KO",
            "statuses other than OK or KO",
        ),
        said(
            len(covered) >= MIN_FUNCTIONS,
            f"{len(covered)} of the subject's functions covered",
            f"{len(covered)} of the subject's functions covered, {MIN_FUNCTIONS} expected",
        ),
    ]


def line_is_rule(lines: list[str], i: int) -> bool:
    """Is line `i` a table's rule under its header (| --- | :---: |)?"""
    return i < len(lines) and all(rx(r":?-{3,}:?").fullmatch(c) for c in _cells(lines[i]))


acceptance_met = criterion(project, "acceptance", node="dev")
own_tests_pass = criterion(project, "own-tests", node="dev")
tests_cover = criterion(project, "coverage", node="dev")
tests_catch_bugs = criterion(project, "mutants", node="dev")
recipe_book_kept = criterion(project, "book", node="dev")
