"""Live progress, for the examiners: a running lab's built-in criteria graded read-only every
`grading.progress` (a scenario's choice, off by default), one lab at a time on the whole
platform so that it stays light. A preview only: kept in memory, never stored as a grade, never
shown to the candidate, gone when the session leaves `ready` or the service restarts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import metrics
from app.catalog import Catalog
from app.config import Settings
from app.errors import PraxisError
from app.grading import preview_job
from app.models import LabSession, RunningLab, State, utcnow
from graders.pipeline import grade_in_worker
from graders.report import GradeReport

log = logging.getLogger("praxis.progress")


@dataclass(frozen=True)
class Progress:
    at: datetime
    statuses: dict[str, str]  # criterion id -> passed, partial, failed, blocked, error

    @property
    def held(self) -> list[str]:
        return [c for c, status in self.statuses.items() if status == "passed"]


class ProgressWatch:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        background: Callable[[Coroutine[Any, Any, None]], None],
        load: Callable[[str], LabSession],
        grade: Callable[[Any, float], GradeReport] = grade_in_worker,
    ) -> None:
        self.settings, self.catalog = settings, catalog
        self.background, self.load, self.grade = background, load, grade
        self.seen: dict[str, Progress] = {}
        self._due: dict[str, float] = {}  # session -> when its next preview may start
        self._busy = False

    def of(self, session_id: str) -> Progress | None:
        return self.seen.get(session_id)

    def check(self, labs: list[RunningLab]) -> None:
        """From the controller's look at the running labs (each second): forget ended sessions,
        start the most overdue preview."""
        running = {lab.id: lab for lab in labs if lab.state is State.ready and lab.deadline}
        for gone in set(self.seen) - set(running):
            self.seen.pop(gone, None)
        for gone in set(self._due) - set(running):
            self._due.pop(gone, None)
        if self._busy:
            return
        now = time.monotonic()
        # Once per subject, not per lab: each asks the catalog to stat the scenario's files.
        period = {
            scenario: self._every(scenario) for scenario in {r.scenario for r in running.values()}
        }
        waiting = [
            (self._due.get(lab.id, 0.0), lab.id, every)
            for lab in running.values()
            if (every := period[lab.scenario]) is not None and self._due.get(lab.id, 0.0) <= now
        ]
        if not waiting:
            return
        _, session_id, every = min(waiting)
        self._due[session_id] = now + every
        self._busy = True
        self.background(self._preview(running[session_id]))

    def _every(self, scenario_id: str) -> float | None:
        try:
            return self.catalog.get(scenario_id).grading.progress_seconds
        except PraxisError:
            return None

    async def _preview(self, running: RunningLab) -> None:
        try:
            scenario = self.catalog.get(running.scenario)
            lab = await asyncio.to_thread(self.load, running.id)  # with its key and parameters
            job = preview_job(
                self.settings, scenario, lab.nodes, lab.params, lab.grader_key, lab.docker_url
            )
            report = await asyncio.to_thread(self.grade, job, scenario.grading.budget_seconds)
            statuses: dict[str, str] = {c.id: c.status for c in report.criteria}
            if running.id in self._due:  # still running: not ended meanwhile
                self.seen[running.id] = Progress(utcnow(), statuses)
        except Exception:  # a preview must never disturb the exam
            log.exception("session %s: live progress failed", running.id)
            metrics.ERRORS.labels("preview").inc()
        finally:
            self._busy = False
