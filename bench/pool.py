"""Pool benchmarks (issue 12: sittings), beside a cold session and the API's floor in the same run.

    .venv/bin/python bench/pool.py [--labs 30] [--hand-outs 20] [--rounds 3]

1. A sitting's pool: `--labs` AMP labs made ahead at once (one per candidate of a 30-candidate
   sitting), from the service's start to the last one ready; and the lead time the service
   then computes from those builds (app.pool.lead) for a sitting of that size.
2. Hand-out: `POST /api/sessions` answered `ready` with a pooled lab, p50/p95 over
   `--hand-outs`, against a cold session (API call -> ready, median of `--rounds`: the engine
   building the lab) and against `/api/health` right after each hand-out (the API's floor under
   the same load, the pool refilling meanwhile). A hand-out asks nothing of the engine: the
   lab's secrets were made with it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import make_engine, unit_of_work  # noqa: E402
from app.pool import lead  # noqa: E402
from bench.run import Service  # noqa: E402
from bench.web import percentile  # noqa: E402

ACCESS = "32100-32199"  # apart from the test suite's blocks: a bench may run beside it


def pool_built(service: Service, labs: int, timeout: float = 1800) -> float:
    """Seconds from now until the standing pool holds `labs` ready labs."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pools = service.api.get("/api/pools").json()
        if pools and len(pools[0]["ready"]) >= labs:
            return time.monotonic() - start
        time.sleep(0.2)
    raise TimeoutError(f"the pool did not reach {labs} labs in {timeout}s")


def hand_outs(service: Service, count: int) -> tuple[list[float], list[float]]:
    """Each hand-out's API round trip (the answer says `ready`), and, right after each, the
    API's floor (`/api/health`): both under the same load (the pool refilling meanwhile)."""
    ours, floor = [], []
    for n in range(count):
        start = time.perf_counter()
        reply = service.api.post(
            "/api/sessions", json={"scenario": "amp-stack", "candidate": f"bench {n}"}
        )
        ours.append(time.perf_counter() - start)
        session = reply.json()
        assert session["state"] == "ready", f"not from the pool: {session['state']}"
        start = time.perf_counter()
        service.api.get("/api/health").raise_for_status()
        floor.append(time.perf_counter() - start)
    return ours, floor


def computed_lead(data_dir: Path, labs: int) -> float:
    """The lead time, in seconds, the service computes from the builds it just made."""
    with unit_of_work(make_engine(f"sqlite:///{data_dir}/praxis.db")) as db:
        return lead(db, Settings(data_dir=data_dir), "amp-stack", labs).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labs", type=int, default=30)
    parser.add_argument("--hand-outs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    assert args.hand_outs <= args.labs
    with tempfile.TemporaryDirectory() as tmp:
        cold_service = Service(Path(tmp), port=18767, access=ACCESS)
        try:
            cold_service.ready()  # warm
            cold = [cold_service.ready() for _ in range(args.rounds)]
        finally:
            cold_service.close()
    with tempfile.TemporaryDirectory() as tmp:
        pools = json.dumps({"amp-stack": args.labs})
        service = Service(Path(tmp), port=18768, access=ACCESS, pools=pools)
        try:
            built = pool_built(service, args.labs)
            lead_seconds = computed_lead(Path(tmp), args.labs)
            ours, floor = hand_outs(service, args.hand_outs)
        finally:
            service.close()

    ms = [t * 1000 for t in ours]
    p50, p95 = percentile(ms, 0.5), percentile(ms, 0.95)
    floor_ms, cold_ms = statistics.median(floor) * 1000, statistics.median(cold) * 1000
    print(f"{f'pool of {args.labs} AMP labs, start -> all ready':44} {built:.1f}s")
    print(f"{'lead time computed from those builds':44} {lead_seconds / 60:.1f} min")
    print(
        f"{f'hand-out (API call -> ready), {len(ms)} times':44} p50 {p50:.0f} ms  p95 {p95:.0f} ms"
    )
    print(f"{'/api/health, after each':44} median {floor_ms:.0f} ms")
    print(f"{'cold session (API call -> ready)':44} median {cold_ms:.0f} ms")
    print(f"{'ratio hand-out p50 / cold session':44} {p50 / cold_ms:.3f}  (goal: p50 <= 100 ms)")


if __name__ == "__main__":
    main()
