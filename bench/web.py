"""Web UI benchmarks (issue: browser terminal and examiner dashboard).

    .venv/bin/python bench/web.py [--keys N] [--requests N]

1. Keystroke echo through the browser-terminal path (WebSocket -> platform -> SSH -> node ->
   back), p50 and p99 on loopback, against the same echo over a direct SSH shell (the raw
   path without the platform).
2. The examiner dashboard's update request with 200 live sessions (seeded rows): p50/p99,
   beside /api/health on the same server for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import paramiko
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import make_engine, migrate, unit_of_work  # noqa: E402
from app.models import LabSession, State, utcnow  # noqa: E402

PRAXIS = str(ROOT / ".venv" / "bin" / "praxis")
PORT = 18766


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def serve(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, str], str]:
    env = {
        **os.environ,
        "PRAXIS_DATA_DIR": str(tmp),
        "PRAXIS_PORT": str(PORT),
        "PRAXIS_ACCESS_PORTS": "24100-24199",
        "PRAXIS_RETENTION_SECONDS": "0",
    }
    token = subprocess.run(
        [PRAXIS, "user", "create", "bench", "--role", "admin", "--password"],
        input="bench-password\nbench-password\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    process = subprocess.Popen(
        [PRAXIS, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{PORT}/api/health")
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return process, env, token


async def echo_times(send: object, receive: object, keys: int) -> list[float]:
    """Type one character at a time and wait for it to come back."""
    times = []
    for i in range(keys):
        char = "abcdefghij"[i % 10]
        start = time.perf_counter()
        await send(char)  # type: ignore[operator]
        while char not in await receive():  # type: ignore[operator]
            pass
        times.append(time.perf_counter() - start)
        if i % 50 == 49:
            await send("\x15")  # ctrl-U: clear the line
            await receive()  # type: ignore[operator]
    return times


async def through_websocket(session_id: str, cookie: str, keys: int) -> list[float]:
    url = f"ws://127.0.0.1:{PORT}/ws/sessions/{session_id}/nodes/web/terminal"
    async with websockets.connect(url, additional_headers={"Cookie": f"praxis={cookie}"}) as ws:
        while "$ " not in json.loads(await ws.recv()).get("d", ""):
            pass

        async def send(text: str) -> None:
            await ws.send(json.dumps({"t": "i", "d": text}))

        async def receive() -> str:
            return str(json.loads(await ws.recv()).get("d", ""))

        return await echo_times(send, receive, keys)


async def through_ssh(address: str, user: str, password: str, keys: int) -> list[float]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(address, 22, user, password, allow_agent=False, look_for_keys=False)
    channel = client.invoke_shell(term="xterm-256color", width=120, height=32)
    buffer = ""
    while "$ " not in buffer:
        buffer += channel.recv(65536).decode()

    async def send(text: str) -> None:
        channel.send(text.encode())

    async def receive() -> str:
        return str(channel.recv(65536).decode())

    try:
        return await echo_times(send, receive, keys)
    finally:
        client.close()


def keystrokes(api: httpx.Client, keys: int) -> tuple[list[float], list[float]]:
    created = api.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "bench"}).json()
    session_id = created["id"]
    while (session := api.get(f"/api/sessions/{session_id}").json())["state"] != "ready":
        time.sleep(0.1)
    signed_in = httpx.post(
        f"http://127.0.0.1:{PORT}/exam", data={"code": created["access"]["exam_code"]}
    )
    cookie = signed_in.cookies["praxis"]
    web = asyncio.run(through_websocket(session_id, cookie, keys))
    node = session["nodes"][0]["address"]
    raw = asyncio.run(
        through_ssh(node, session["access"]["user"], session["access"]["password"], keys)
    )
    api.post(f"/api/sessions/{session_id}/end")
    return web, raw


def seed(env: dict[str, str], count: int) -> None:
    engine = make_engine(f"sqlite:///{env['PRAXIS_DATA_DIR']}/praxis.db")
    migrate(engine)
    now = utcnow()
    with unit_of_work(engine) as db:
        for i in range(count):
            db.add(
                LabSession(
                    id=secrets.token_hex(6),
                    scenario="amp-stack",
                    candidate=f"Candidat {i:03d}",
                    state=State.graded,
                    ready_at=now,
                    deadline=now + timedelta(minutes=90),
                    teardown_after=now + timedelta(days=1),
                    nodes={"web": {"address": f"10.250.{i // 250}.{i % 250}", "port": None}},
                )
            )


def dashboard(env: dict[str, str], requests: int) -> tuple[list[float], list[float]]:
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}") as browser:
        browser.post("/login", data={"name": "bench", "password": "bench-password"})
        assert "praxis" in browser.cookies, "sign-in failed"
        rows = browser.get("/staff/fragments/sessions").text.count("data-session=")
        assert rows >= 200, rows
        timings, health = [], []
        for _ in range(requests):
            start = time.perf_counter()
            browser.get("/staff/fragments/sessions").raise_for_status()
            timings.append(time.perf_counter() - start)
            start = time.perf_counter()
            browser.get("/api/health")
            health.append(time.perf_counter() - start)
    return timings, health


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PRAXIS_DATA_DIR": tmp}
        seed(env, 200)  # graded sessions kept a day: live rows on the dashboard, no lab needed
        process, env, token = serve(Path(tmp))
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{PORT}",
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            ) as api:
                web, raw = keystrokes(api, args.keys)
            rows, health = dashboard(env, args.requests)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            subprocess.run([PRAXIS, "reap"], env=env, capture_output=True, check=False)

    def ms(values: list[float], q: float) -> str:
        return f"{1000 * percentile(values, q):.1f} ms"

    ratio = statistics.median(web) / statistics.median(raw)
    lines = [
        ("keystroke echo, browser path (WebSocket)", f"p50 {ms(web, 0.5)}  p99 {ms(web, 0.99)}"),
        ("keystroke echo, direct SSH shell (raw)", f"p50 {ms(raw, 0.5)}  p99 {ms(raw, 0.99)}"),
        ("ratio browser path / raw, p50", f"{ratio:.2f}"),
        ("dashboard update, 200 live sessions", f"p50 {ms(rows, 0.5)}  p99 {ms(rows, 0.99)}"),
        (
            "/api/health on the same server (scale)",
            f"p50 {ms(health, 0.5)}  p99 {ms(health, 0.99)}",
        ),
    ]
    for label, figure in lines:
        print(f"{label:42} {figure}")


if __name__ == "__main__":
    main()
