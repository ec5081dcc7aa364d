"""One folder per case under scenario_cases/: `expected` lists `line: message part` lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import validate

CASES = Path(__file__).parent / "scenario_cases"
INVALID = sorted(p.name for p in CASES.iterdir() if (p / "expected").exists())


def test_valid_scenario_loads_with_its_parts() -> None:
    scenario, problems = validate(CASES / "valid")
    assert problems == []
    assert scenario is not None
    assert scenario.time_allowed.total_seconds() == 5400
    assert scenario.nodes["web"].memory_bytes == 256 << 20
    assert [c.id for c in scenario.criteria] == ["first", "second"]
    assert len(scenario.criteria[1].all_checks) == 4
    assert sum(c.weight for c in scenario.criteria) == 3


@pytest.mark.parametrize("case", INVALID)
def test_invalid_scenario_reports_every_problem_with_its_line(case: str) -> None:
    scenario, problems = validate(CASES / case)
    assert scenario is None
    rendered = [str(p) for p in problems]
    path = str(CASES / case / "scenario.yaml")
    assert all(r.startswith(path + ":") for r in rendered), rendered
    for expected in (CASES / case / "expected").read_text().splitlines():
        line, _, part = expected.partition(": ")
        assert any(r.startswith(f"{path}:{line}: ") and part in r for r in rendered), (
            f"expected {expected!r} among:\n" + "\n".join(rendered)
        )


def test_missing_folder_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    scenario, problems = validate(tmp_path / "nothing")
    assert scenario is None
    assert "scenario.yaml not found" in str(problems[0])
