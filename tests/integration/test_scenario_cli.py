"""`praxis scenario test`: the instructor's check that a scenario grades what it should."""

from __future__ import annotations

import subprocess

from tests.integration.conftest import PRAXIS


def praxis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PRAXIS, *args], capture_output=True, text=True, check=False, timeout=900)


def test_amp_solution_scores_100() -> None:
    done = praxis("scenario", "test", "amp-stack")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "score: 100.0%"


def test_amp_blank_lab_scores_at_most_10() -> None:
    done = praxis("scenario", "test", "amp-stack", "--blank")
    assert done.returncode == 0, done.stdout + done.stderr
    score = float(done.stdout.strip().splitlines()[-1].removeprefix("score: ").rstrip("%"))
    assert score <= 10


def test_invalid_scenario_is_refused_before_any_lab(tmp_path: object) -> None:
    done = praxis("scenario", "test", "tests/unit/scenario_cases/references")
    assert done.returncode == 1
    assert "scenario.yaml:9: unknown node 'db'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
