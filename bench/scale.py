"""Scale-out benchmarks (issue 14), with their baselines in the same run.

    .venv/bin/python bench/scale.py [--sessions 50] [--seconds 20] [--only hosts|replicas]

1. Two lab hosts: `--sessions` AMP sessions requested at once from a service with a second
   Docker Engine enrolled (scripts/lab-engine.sh): all must be ready, none failed; p50/p95
   of request -> ready (`ready_at`: the grader's key login), and how they were spread. Beside
   it, the raw engines: as many `docker run` of the node image at once, half on each engine,
   each to the same key login.
2. Replicas: `GET /api/sessions/{id}` per second, for `--seconds`, from one replica, then from
   two on one PostgreSQL (the clients split between them); the same load generator (32
   clients over keep-alive connections, in its own process) for both.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DOCKER, PRAXIS, Service, raw_ready  # noqa: E402
from bench.web import percentile  # noqa: E402
from tests.postgres import Databases, server_url  # noqa: E402

ENGINE = "bench-second"
POOL = "10.215.0.0/16"  # apart from the tests' second engine's
RAW_NETWORK = "praxis-bench-raw"
CLIENTS = 8  # over keep-alive connections; 32 saturate the pool of one replica on 2 cores


def second_engine() -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lab-engine.sh"), "start", ENGINE],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def raw_at_once(count: int, engines: list[str]) -> list[float]:
    """`count` raw nodes started at once, spread over `engines`, each to the key login."""
    for url in engines:  # the second engine has no default bridge: a network of its own
        subprocess.run(
            [DOCKER, "-H", url, "network", "create", "--internal", RAW_NETWORK],
            capture_output=True,
            check=False,
        )
    jobs = [(DOCKER, "-H", engines[i % len(engines)]) for i in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        times = list(
            pool.map(lambda docker: raw_ready(True, docker, ("--network", RAW_NETWORK)), jobs)
        )
    for url in engines:
        subprocess.run([DOCKER, "-H", url, "network", "rm", RAW_NETWORK], capture_output=True)
    return times


def sessions_at_once(service: Service, count: int) -> tuple[list[float], dict[str, int]]:
    start = time.time()
    ids = [
        service.api.post(
            "/api/sessions", json={"scenario": "amp-stack", "candidate": f"bench {n}"}
        ).json()["id"]
        for n in range(count)
    ]
    times, hosts = [], {}
    for session_id in ids:
        while (session := service.api.get(f"/api/sessions/{session_id}").json())[
            "state"
        ] != "ready":
            assert session["state"] in ("requested", "provisioning"), session
            time.sleep(0.2)
        times.append(datetime.fromisoformat(session["ready_at"]).timestamp() - start)
        hosts[session["host"]] = hosts.get(session["host"], 0) + 1
    for session_id in ids:
        service.api.post(f"/api/sessions/{session_id}/end")
    for session_id in ids:
        while service.api.get(f"/api/sessions/{session_id}").json()["state"] != "torn_down":
            time.sleep(0.2)
    return times, hosts


def hosts_bench(sessions: int) -> None:
    url = second_engine()
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp), access="32200-32299")
        try:
            subprocess.run(  # the node images are copied to the second engine
                [PRAXIS, "hosts", "add", "second", "--docker", url, "--pool", POOL],
                env=service.env,
                capture_output=True,
                check=True,
            )
            raw = raw_at_once(sessions, ["unix:///var/run/docker.sock", url])
            ours, spread = sessions_at_once(service, sessions)
        finally:
            service.close()
    print(f"{sessions} AMP sessions at once over two engines: all ready, spread {spread}")
    for label, values in (("raw `docker run`, half on each", raw), ("Praxis sessions", ours)):
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(f"  {label:34} p50 {p50:6.1f}s  p95 {p95:6.1f}s  last {max(values):6.1f}s")
    print(f"  ratio Praxis / raw, p50 {percentile(ours, 0.5) / percentile(raw, 0.5):.2f}")


async def _load(urls: list[str], token: str, path: str, seconds: float) -> list[float]:
    times: list[float] = []
    stop = time.monotonic() + seconds

    async def client(base: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as api:
            while time.monotonic() < stop:
                start = time.monotonic()
                reply = await api.get(path)
                assert reply.status_code == 200, reply.text
                times.append(time.monotonic() - start)

    await asyncio.gather(*(client(urls[i % len(urls)]) for i in range(CLIENTS)))
    return times


def load(urls: list[str], token: str, path: str, seconds: float) -> str:
    """Requests per second and their latencies, from a process of its own."""
    start = time.monotonic()
    with multiprocessing.Pool(1) as pool:
        times = pool.apply(_run_load, (urls, token, path, seconds))
    rate = len(times) / (time.monotonic() - start)
    p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
    return f"{rate:7.0f} requests/s  p50 {p50:5.0f} ms  p99 {p99:5.0f} ms  max {max(times):5.1f} s"


def _run_load(urls: list[str], token: str, path: str, seconds: float) -> list[float]:
    return asyncio.run(_load(urls, token, path, seconds))


def replicas_bench(seconds: float) -> None:
    server = server_url()
    assert server, "no PostgreSQL server: run `bash scripts/postgres.sh`"
    databases = Databases(server)
    try:
        url = databases.fresh()
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "a").mkdir()
            (Path(tmp) / "b").mkdir()
            a = Service(Path(tmp) / "a", 18770, "32300-32349", database_url=url)
            b = None
            try:
                session = a.api.post(
                    "/api/sessions", json={"scenario": "amp-stack", "candidate": "bench"}
                ).json()
                path = f"/api/sessions/{session['id']}"
                token = a.api.headers["Authorization"].removeprefix("Bearer ")
                one = load(["http://127.0.0.1:18770"], token, path, seconds)
                b = Service(Path(tmp) / "b", 18771, "32350-32399", "bench-b", database_url=url)
                urls = ["http://127.0.0.1:18770", "http://127.0.0.1:18771"]
                two = load(urls, token, path, seconds)
            except Exception:
                for service in (a, b):
                    if service is not None:
                        print(service.log.read_text()[-4000:], file=sys.stderr)
                raise
            finally:
                for service in (b, a):
                    if service is not None:
                        service.close()
        print(f"GET /api/sessions/{{id}}, {CLIENTS} clients, {seconds:g}s each, PostgreSQL:")
        print(f"  one replica   {one}")
        print(f"  two replicas  {two}")
    finally:
        databases.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", choices=["hosts", "replicas"])
    args = parser.parse_args()
    if args.only in (None, "hosts"):
        hosts_bench(args.sessions)
    if args.only in (None, "replicas"):
        replicas_bench(args.seconds)


if __name__ == "__main__":
    main()
