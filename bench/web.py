"""Web UI benchmarks (issue: browser terminal and examiner dashboard).

    .venv/bin/python bench/web.py [--only keys|dashboard] [--keys N] [--requests N]

1. `keys` (needs a lab: Docker and the images): keystroke echo through the browser-terminal
   path (WebSocket -> platform -> SSH -> node -> back), p50 and p99 on loopback, against the
   same echo over a direct SSH shell (the raw path without the platform).
2. `dashboard` (no lab is built; the service still needs its engine to start): the examiner's
   updates with 200 live sessions, on a service of its own. The 200 are one sitting's
   candidates in the middle of the exam (`ready`, clock started 5 min ago, 85 min left) on a
   copy of amp-stack with live progress on (`grading.progress: 30s`), so the service's loop
   does what it does in an exam: the nodes' watch every second, the previews one lab at a
   time. Their nodes exist nowhere (the engine knows none: empty health, previews that find
   no container), so few rows have a progress value while it runs. Measured over HTTP, one
   examiner's browser: the dashboard's table body (`/staff/fragments/sessions`) and the
   sitting's (`/staff/fragments/sittings/{id}`), p50/p99, beside /api/health for scale. Then,
   since previews of 200 labs take minutes, the same two fragments rendered in-process
   (no HTTP) with a progress value for each of the 200 sessions. This client runs at the
   service's niceness when it may (root), so that a busy host delays both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import paramiko
import websockets
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import exam_code_hash, new_exam_code  # noqa: E402
from app.db import make_engine, migrate, unit_of_work  # noqa: E402
from app.models import (  # noqa: E402
    LabSession,
    Sitting,
    SittingCandidate,
    SittingState,
    State,
    utcnow,
)
from labs.keys import new_keypair  # noqa: E402

PRAXIS = str(ROOT / ".venv" / "bin" / "praxis")
PORT = 18766
LIVE = 200  # the target's number of live sessions


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def served(tmp: Path, **extra: str) -> Iterator[tuple[dict[str, str], str]]:
    """The service on `tmp`, with an admin `bench`; its environment and API token."""
    env = {
        **os.environ,
        "PRAXIS_DATA_DIR": str(tmp),
        "PRAXIS_PORT": str(PORT),
        "PRAXIS_ACCESS_PORTS": "24100-24199",
        "PRAXIS_RETENTION_SECONDS": "0",
        **extra,
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
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/api/health")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield env, token
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        subprocess.run([PRAXIS, "reap"], env=env, capture_output=True, check=False)


def sign_in(browser: httpx.Client, form: str, **fields: str) -> str:
    """Sign in as a browser does (the form's CSRF token first); the sign-in cookie."""
    page = browser.get(form).text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token, f"no CSRF token in {form}"
    browser.post(form, data={**fields, "csrf": token[1]})
    assert "praxis" in browser.cookies, f"sign-in at {form} failed"
    return str(browser.cookies["praxis"])


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


def keystrokes(keys: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp, served(Path(tmp)) as (_, token):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60, headers=headers) as api:
            return echo_of_a_lab(api, keys)


def echo_of_a_lab(api: httpx.Client, keys: int) -> tuple[list[float], list[float]]:
    created = api.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "bench"}).json()
    session_id = created["id"]
    while (session := api.get(f"/api/sessions/{session_id}").json())["state"] != "ready":
        time.sleep(0.1)
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}") as browser:
        cookie = sign_in(browser, "/exam", code=created["access"]["exam_code"])
    web = asyncio.run(through_websocket(session_id, cookie, keys))
    node = session["nodes"][0]["address"]
    raw = asyncio.run(
        through_ssh(node, session["access"]["user"], session["access"]["password"], keys)
    )
    api.post(f"/api/sessions/{session_id}/end")
    return web, raw


def seed(data_dir: Path, count: int) -> str:
    """A sitting of `count` candidates in the middle of the exam: their sessions `ready`, the
    clock started 5 minutes ago. No lab behind them. Returns the sitting's id."""
    engine = make_engine(f"sqlite:///{data_dir}/praxis.db")
    migrate(engine)
    start = utcnow() - timedelta(minutes=5)
    sitting = Sitting(
        id=secrets.token_hex(6),
        scenario="amp-stack",
        starts_at=start,
        minutes=90,
        state=SittingState.started,
        started_at=start,
    )
    with unit_of_work(engine) as db:
        db.add(sitting)
        for i in range(count):
            session_id, code = secrets.token_hex(6), new_exam_code()
            db.add(
                LabSession(
                    id=session_id,
                    scenario="amp-stack",
                    candidate=f"Candidat {i:03d}",
                    state=State.ready,
                    candidate_user="candidat",
                    candidate_password=secrets.token_urlsafe(9),
                    params={"db_password": secrets.token_urlsafe(12)},
                    grader_key=new_keypair().private,
                    nodes={"web": {"address": "127.0.0.1", "ref": f"bench-{session_id}"}},
                    ready_at=start,
                    starts_at=start,
                    minutes=90,
                    deadline=start + timedelta(minutes=90),
                    sitting_id=sitting.id,
                )
            )
            db.add(
                SittingCandidate(
                    sitting_id=sitting.id,
                    last_name=f"Candidat{i:03d}",
                    first_name="Camille",
                    number=f"{i:05d}",
                    exam_code=code,
                    exam_code_hash=exam_code_hash(code),
                    session_id=session_id,
                )
            )
    engine.dispose()
    return sitting.id


def with_progress(scenarios: Path) -> None:
    """amp-stack with live progress on, in `scenarios`."""
    shutil.copytree(ROOT / "scenarios" / "amp-stack", scenarios / "amp-stack")
    spec = scenarios / "amp-stack" / "scenario.yaml"
    text = spec.read_text(encoding="utf-8")
    assert "\ngrading:" not in text, "amp-stack has its own grading settings now: merge them"
    spec.write_text(text + "\ngrading: {progress: 30s}\n", encoding="utf-8")


def timed(get: Callable[[str], httpx.Response], urls: list[str], n: int) -> list[list[float]]:
    """`n` rounds of one GET of each url, in turn; each url's times."""
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(n):
        for url, spent in zip(urls, times, strict=True):
            start = time.perf_counter()
            get(url).raise_for_status()
            spent.append(time.perf_counter() - start)
    return times


def count(get: Callable[[str], httpx.Response], url: str, marker: str) -> int:
    return get(url).text.count(marker)


def as_the_service() -> None:
    """This client at the service's priority (app.main.serve), where allowed: on a busy host a
    client at normal priority measures its own waits for a core, not the service's answer (an
    examiner's browser runs on another machine)."""
    from app.config import Settings

    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, Settings().service_niceness)


def dashboard(requests: int) -> dict[str, list[float]]:
    as_the_service()
    with tempfile.TemporaryDirectory() as tmp:
        sitting_id = seed(Path(tmp), LIVE)
        with_progress(Path(tmp) / "scenarios")
        sitting = f"/staff/fragments/sittings/{sitting_id}"
        urls = ["/staff/fragments/sessions", sitting, "/api/health"]
        with (
            served(Path(tmp), PRAXIS_SCENARIOS_DIR=f"{tmp}/scenarios"),
            httpx.Client(base_url=f"http://127.0.0.1:{PORT}") as browser,
        ):
            sign_in(browser, "/login", name="bench", password="bench-password")
            assert count(browser.get, urls[0], "data-session=") == LIVE
            assert count(browser.get, sitting, "data-number=") == LIVE
            times = timed(browser.get, urls, requests)
        rendered = in_process(Path(tmp), urls[:2], requests)
    return {
        "dashboard": times[0],
        "sitting": times[1],
        "health": times[2],
        "dashboard, in-process": rendered[0],
        "sitting, in-process": rendered[1],
    }


def in_process(tmp: Path, urls: list[str], requests: int) -> list[list[float]]:
    """The fragments rendered by the app in this process (its loop not running), with a
    progress value for every running session: what 200 previews would leave."""
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app
    from app.progress import Progress

    settings = Settings(data_dir=tmp, scenarios_dir=tmp / "scenarios")
    with TestClient(create_app(settings, run_controller=False)) as client:
        app = client.app
        statuses = {f"c{i}": ("passed", "failed")[i % 2] for i in range(9)}
        with unit_of_work(app.state.engine) as db:  # type: ignore[attr-defined]
            running = db.exec(select(LabSession.id).where(LabSession.state == State.ready)).all()
        seen = app.state.controller.progress.seen  # type: ignore[attr-defined]
        for session_id in running:
            seen[session_id] = Progress(utcnow(), statuses)
        sign_in(client, "/login", name="bench", password="bench-password")
        for url in urls:
            assert count(client.get, url, 'class="progress"><span') == LIVE
        return timed(client.get, urls, requests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["keys", "dashboard"])
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    def figures(values: list[float]) -> str:
        return " ".join(f"p{q:.0f} {1000 * percentile(values, q / 100):.1f} ms" for q in (50, 99))

    lines = []
    if args.only in (None, "keys"):
        web, raw = keystrokes(args.keys)
        ratio = statistics.median(web) / statistics.median(raw)
        lines += [
            ("keystroke echo, browser path (WebSocket)", figures(web)),
            ("keystroke echo, direct SSH shell (raw)", figures(raw)),
            ("ratio browser path / raw, p50", f"{ratio:.2f}"),
        ]
    if args.only in (None, "dashboard"):
        times = dashboard(args.requests)
        lines += [
            (f"dashboard update, {LIVE} live sessions", figures(times["dashboard"])),
            (f"sitting update, {LIVE} live sessions", figures(times["sitting"])),
            ("/api/health on the same server (scale)", figures(times["health"])),
            (
                f"dashboard, {LIVE} progress values, in-process",
                figures(times["dashboard, in-process"]),
            ),
            (f"sitting, {LIVE} progress values, in-process", figures(times["sitting, in-process"])),
        ]
    for label, figure in lines:
        print(f"{label:48} {figure}")


if __name__ == "__main__":
    main()
