"""The one grading path, for exams (the controller) and for instructors (`scenario test`):
a job from the settings and the lab's nodes, graded in a worker, again while incomplete."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.config import Settings
from graders.pipeline import GradingJob, NodeRef, grade_in_worker
from graders.report import GradeReport
from labs import vm_images
from labs.scenario import Criterion, Scenario

log = logging.getLogger("praxis.grading")


def grading_job(
    settings: Settings,
    scenario: Scenario,
    nodes: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, str],
    grader_key: str,
    docker_url: str = "",
) -> GradingJob:
    """`nodes`: node name -> {"ref": container id or domain uuid, "address": lab address,
    "disk": a VM's frozen disk} (the session's row); `grader_key`: the session's private key;
    `docker_url`: the engine of the lab's host (app.fleet), "" for this machine's."""

    def _os(name: str) -> str:
        node = scenario.nodes[name]
        image = (
            vm_images.load(settings.vm_dir / "images", node.image) if node.kind == "vm" else None
        )
        return image.os if image is not None else "linux"

    return GradingJob(
        scenario=scenario,
        nodes={
            name: NodeRef(str(n["ref"]), str(n["address"]), str(n.get("disk", "")), _os(name))
            for name, n in nodes.items()
        },
        params=dict(params),
        docker_url=docker_url or settings.docker_url,
        package_cache=settings.package_cache_dir,
        state_dir=settings.data_dir,
        grader_key=grader_key,
        libvirt_url=settings.libvirt_url,
    )


def preview_job(
    settings: Settings,
    scenario: Scenario,
    nodes: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, str],
    grader_key: str,
    docker_url: str = "",
) -> GradingJob:
    """A job for a running lab's live progress: only the criteria whose checks are all built
    in (a `python` check may exercise the candidate's work: call their script, post to their
    service) and whose dependencies are kept too. Judged as a grade is, the integrity scan
    included (a check asking which program holds a port waits for it). A running VM's disk
    is not frozen yet: its files are not read (those checks show as not held)."""
    kept: list[Criterion] = []
    for criterion in scenario.criteria:
        built_in = all(check.get("type") != "python" for check in criterion.all_checks)
        if built_in and set(criterion.depends_on) <= {c.id for c in kept}:
            kept.append(criterion)
    cut = scenario.model_copy(update={"criteria": kept})
    return grading_job(settings, cut, nodes, params, grader_key, docker_url)


def grade_until_complete(
    job: GradingJob,
    settings: Settings,
    on_retry: Callable[[GradeReport, int], None] = lambda report, attempt: None,
) -> GradeReport:
    """Grade; while a criterion could not be graded (`error`: the engine failed, a time-out),
    wait and grade again, up to `grading_attempts` times. The last report says how many."""
    budget = job.scenario.grading.budget_seconds
    attempts = max(1, settings.grading_attempts)
    for attempt in range(1, attempts + 1):
        report = grade_in_worker(job, budget)
        report.attempts = attempt
        if report.complete or attempt == attempts:
            return report
        log.warning("grading incomplete (attempt %d of %d)", attempt, attempts)
        on_retry(report, attempt)
        time.sleep(settings.grading_retry_seconds)
    raise AssertionError("unreachable")
