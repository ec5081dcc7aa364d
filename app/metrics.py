"""Prometheus metrics, served at `/metrics` to staff (app.api.metrics).

The durations and errors are counted by this process as they happen: each service replica
counts its own, so sum them across replicas. The gauges (sessions by state, the host's labs
and memory) are read from the database and the host at each scrape: the same from every
replica, so take any one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import col, select

from app.db import unit_of_work
from app.fleet import LOCAL, engine_answers
from app.models import LIVE_STATES, LabHost, LabSession, State

# From a pooled hand-out (tens of ms) to a VM lab's build under emulation (minutes).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

REGISTRY = CollectorRegistry()
PROVISIONING = Histogram(
    "praxis_provisioning_seconds",
    "A lab's build, pooled ones included: nodes created, started and answering",
    ["scenario"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
READY = Histogram(
    "praxis_ready_seconds",
    "A session's wait from its request to its lab ready (a lab from the pool: the hand-out)",
    ["scenario"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
GRADING = Histogram(
    "praxis_grading_seconds",
    "From the end of an exam to its grade stored: access cut, lab frozen, graded",
    ["scenario"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "praxis_errors",
    "Failures by kind: provisioning, grading (failed), grading_incomplete (graded again), "
    "node_down (an incident opened), pooled_broken (a lab made ahead, replaced), "
    "preview (live progress), controller (a tick)",
    ["kind"],
    registry=REGISTRY,
)
for kind in (
    "provisioning",
    "grading",
    "grading_incomplete",
    "node_down",
    "pooled_broken",
    "preview",
    "controller",
):
    ERRORS.labels(kind)  # every kind shown from the start, at 0: a rate needs a first sample


class _Now(Collector):
    """What is true at the scrape, read from the database and the lab hosts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        columns = (col(LabSession.state), col(LabSession.pooled), col(LabSession.host))
        query = select(*columns, func.count()).group_by(*columns)
        with unit_of_work(self.engine) as db:
            rows = list(db.execute(query))
            enrolled = list(db.exec(select(LabHost)))
        counts: dict[tuple[State, bool], int] = {}
        live: dict[str, int] = {LOCAL: 0} | {h.name: 0 for h in enrolled}
        for state, pooled, host, n in rows:
            counts[state, pooled] = counts.get((state, pooled), 0) + n
            if state in LIVE_STATES:
                live[host or LOCAL] = live.get(host or LOCAL, 0) + n
        sessions = GaugeMetricFamily(
            "praxis_sessions", "Candidates' sessions by state", labels=["state"]
        )
        pooled = GaugeMetricFamily(
            "praxis_pooled_labs", "Labs made ahead, no one's yet, by state", labels=["state"]
        )
        for state in State:
            sessions.add_metric([state.value], counts.get((state, False), 0))
            pooled.add_metric([state.value], counts.get((state, True), 0))
        labs = GaugeMetricFamily(
            "praxis_host_labs", "Labs on each host (built, being built or graded)", labels=["host"]
        )
        for host, n in live.items():
            labs.add_metric([host], n)
        memory = GaugeMetricFamily(
            "praxis_host_memory_bytes",
            "This machine's memory (total, available); an enrolled host's capacity for labs",
            labels=["host", "kind"],
        )
        for kind, value in _meminfo().items():
            memory.add_metric([LOCAL, kind], value)
        up = GaugeMetricFamily(
            "praxis_host_up", "Whether the host's engine answers", labels=["host"]
        )
        for host in enrolled:
            memory.add_metric([host.name, "capacity"], host.memory_bytes)
            up.add_metric([host.name], engine_answers(host.docker_url))
        cpus = GaugeMetricFamily("praxis_host_cpus", "This machine's processors", labels=["host"])
        cpus.add_metric([LOCAL], os.cpu_count() or 0)
        yield from (sessions, pooled, labs, memory, up, cpus)


def _meminfo(path: Path = Path("/proc/meminfo")) -> dict[str, int]:
    """Total and available memory, in bytes (the kernel's estimate of what new labs can use)."""
    wanted = {"MemTotal": "total", "MemAvailable": "available"}
    found = {}
    for line in path.read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in wanted:
            found[wanted[name]] = int(rest.split()[0]) * 1024
    return found


def exposition(engine: Engine) -> bytes:
    """This process's counts, then the gauges of now, in Prometheus's text format."""
    now = CollectorRegistry()
    now.register(_Now(engine))
    return generate_latest(REGISTRY) + generate_latest(now)
