"""Live progress: what a preview grades (built-in criteria only), how often
and how few at once, and what it forgets."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import ROOT, Settings
from app.grading import preview_job
from app.models import LabSession, RunningLab, State, utcnow
from app.progress import ProgressWatch
from graders.report import CriterionResult, GradeReport
from labs.loader import load_scenario
from labs.scenario import Grading

PROGRESS = ROOT / "tests" / "integration" / "scenarios" / "progress"
AMP = ROOT / "scenarios" / "amp-stack"


def test_a_preview_grades_only_built_in_criteria_and_what_rests_on_them() -> None:
    amp, _, problems = load_scenario(AMP)
    assert problems == []
    nodes = {"web": {"ref": "x", "address": "10.213.0.2"}}
    job = preview_job(Settings(), amp, nodes, {}, "")
    kept = {c.id for c in job.scenario.criteria}
    python = {c.id for c in amp.criteria if any(k["type"] == "python" for k in c.all_checks)}
    assert python and not kept & python
    resting = {c.id for c in amp.criteria if set(c.depends_on) & python}
    assert not kept & resting
    assert kept == {c.id for c in amp.criteria} - python - resting
    assert len(amp.criteria) > len(kept) > 0


def test_progress_is_off_unless_given_a_positive_duration() -> None:
    assert Grading().progress_seconds is None
    assert Grading(progress="5m").progress_seconds == 300
    with pytest.raises(ValidationError):
        Grading(progress="0s")


class _Catalog:
    def __init__(self) -> None:
        self.scenario = load_scenario(PROGRESS)[0]

    def get(self, scenario_id: str) -> Any:
        return self.scenario


NODES = {"web": {"ref": "x", "address": "10.213.0.2"}}


def _lab(session_id: str, state: State = State.ready) -> RunningLab:
    return RunningLab(session_id, "progress", state, False, utcnow(), NODES)


def _load(session_id: str) -> LabSession:
    return LabSession(id=session_id, scenario="progress", candidate="C", nodes=NODES)


def test_one_preview_at_a_time_each_lab_in_turn_and_ended_ones_forgotten(tmp_path: Path) -> None:
    graded: list[list[str]] = []
    queued: list[Coroutine[Any, Any, None]] = []

    def grade(job: Any, budget: float) -> GradeReport:
        graded.append([c.id for c in job.scenario.criteria])
        criteria = [
            CriterionResult(
                id=c.id,
                title={"fr": "x"},
                referential=None,
                weight=c.weight,
                score=1.0,
                status="passed",
                message="",
            )
            for c in job.scenario.criteria
        ]
        return GradeReport(criteria=criteria, duration_ms=1)

    watch = ProgressWatch(Settings(data_dir=tmp_path), _Catalog(), queued.append, _load, grade)  # type: ignore[arg-type]
    labs = [_lab("a"), _lab("b")]
    watch.check(labs)
    watch.check(labs)  # one is under way: no second
    assert len(queued) == 1
    asyncio.run(queued.pop())
    watch.check(labs)  # the other lab's turn (the first waits its 5 s)
    asyncio.run(queued.pop())
    assert graded == [["answer-file", "hostname", "sshd"]] * 2  # never the python criterion
    held = ["answer-file", "hostname", "sshd"]
    assert watch.of("a") and watch.of("b") and watch.of("a").held == held  # type: ignore[union-attr]
    watch.check(labs)
    assert queued == []  # both previewed less than 5 s ago
    watch.check([_lab("a"), _lab("b", State.grading)])
    assert watch.of("b") is None and watch.of("a") is not None
