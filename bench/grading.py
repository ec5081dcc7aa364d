"""Grading benchmarks: the solved AMP lab, what the restart before grading adds, 10 labs at once.

    .venv/bin/python bench/grading.py [--rounds N] [--labs N]

1. Grading one solved AMP lab, in the grading process's body (`grade_lab`) and as the service
   does it (`grade_in_worker`: a fresh process from the fork server), medians over N rounds.
   Target <= 1 s without the restart.
2. The cut-off before grading: restarting the node and waiting for its boot, against ending
   the candidate's processes only (`grading: {restart: false}`).
3. N solved labs (default 10) graded at once, as when a sitting ends: total wall time and the
   slowest lab.
4. Memory of one idle solved AMP lab, and how many fit in this host's memory.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.catalog import validate  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.grading import grading_job  # noqa: E402
from app.scenario_test import run_solution  # noqa: E402
from graders.pipeline import GradingJob, grade_in_worker, grade_lab  # noqa: E402
from graders.report import GradeReport  # noqa: E402
from graders.transport import load_key, wait_ready  # noqa: E402
from labs.docker_driver import DockerDriver  # noqa: E402
from labs.driver import Access, ready_probe  # noqa: E402
from labs.keys import new_keypair, new_password  # noqa: E402

SCENARIO, PROBLEMS = validate(ROOT / "scenarios" / "amp-stack")
assert SCENARIO is not None, PROBLEMS


class SolvedLab:
    """One AMP lab, provisioned by the driver and solved by the reference solution."""

    def __init__(self, driver: DockerDriver) -> None:
        assert SCENARIO is not None
        self.driver, self.id = driver, "bench" + secrets.token_hex(4)
        keys = new_keypair()
        self.access = Access(keys.public, "candidat", new_password())
        self.params = {**SCENARIO.parameters, **{s: new_password() for s in SCENARIO.secrets}}
        self.private_key = keys.private
        self.nodes = driver.create(self.id, SCENARIO, self.access)
        probe = ready_probe(SCENARIO.nodes["web"].kind)
        wait_ready(self.nodes["web"].address, load_key(keys.private), 120, probe=probe)
        run_solution(SCENARIO, self.nodes, keys.private, self.params, lambda _: None)

    def freeze(self, restart: bool) -> float:
        start = time.monotonic()
        self.nodes = self.driver.freeze(self.id, self.access, restart)
        return time.monotonic() - start

    def job(self) -> GradingJob:
        assert SCENARIO is not None
        rows = {n.name: {"ref": n.ref, "address": n.address} for n in self.nodes.values()}
        return grading_job(get_settings(), SCENARIO, rows, self.params, self.private_key)

    def memory(self) -> int:
        stats = docker.from_env().containers.get(f"praxis-{self.id}-web").stats(stream=False)
        memory = stats["memory_stats"]  # as `docker stats` counts it: without inactive cache
        return int(memory["usage"] - memory.get("stats", {}).get("total_inactive_file", 0))

    def destroy(self) -> None:
        self.driver.destroy(self.id)


def timed(work: Callable[[], GradeReport]) -> float:
    start = time.monotonic()
    report = work()
    assert report.percent == 100, [
        (c.id, c.message, [(e.command, e.status, e.output[:300]) for e in c.evidence])
        for c in report.criteria
        if c.score < 1
    ]
    return time.monotonic() - start


def line(label: str, values: list[float]) -> None:
    spread = f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    print(f"{label:52} median {statistics.median(values):.3f}s  {spread}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--labs", type=int, default=10)
    args = parser.parse_args()
    driver = DockerDriver()
    labs: list[SolvedLab] = []
    try:
        print(f"solving {args.labs} AMP labs (through the package cache)...", flush=True)
        with ThreadPoolExecutor(max_workers=4) as pool:
            labs = list(pool.map(lambda _: SolvedLab(driver), range(args.labs)))
        first = labs[0]
        restart = [first.freeze(restart=True) for _ in range(args.rounds)]
        kill_only = [first.freeze(restart=False) for _ in range(args.rounds)]
        job = first.job()
        in_process = [timed(lambda: grade_lab(job)) for _ in range(args.rounds)]
        in_worker = [timed(lambda: grade_in_worker(job, 300)) for _ in range(args.rounds)]
        for lab in labs[1:]:
            lab.freeze(restart=True)
        jobs = [lab.job() for lab in labs]
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            each = list(pool.map(lambda j: timed(lambda: grade_in_worker(j, 300)), jobs))
        together = time.monotonic() - start
        time.sleep(5)  # let the services settle to idle
        memory = first.memory()
    finally:
        for lab in labs:
            lab.destroy()

    line("grading the solved AMP lab, in process", in_process)
    line("grading the solved AMP lab, worker process", in_worker)
    line("cut-off: restart the node and wait for its boot", restart)
    line("cut-off without restart: end the candidate's processes", kill_only)
    print(
        f"{f'{len(jobs)} solved labs graded at once':52} total {together:.2f}s, "
        f"slowest lab {max(each):.2f}s, median lab {statistics.median(each):.2f}s"
    )
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    print(f"{'idle AMP lab memory after the solution':52} {memory / 2**20:.0f} MiB")
    print(
        f"{'AMP labs that fit in this host memory':52} {int(total * 0.9 // memory)} "
        f"({total / 2**30:.1f} GiB, 10% kept for the host; limit per lab 1 GiB)"
    )


if __name__ == "__main__":
    main()
