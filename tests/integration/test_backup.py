"""`praxis backup` while an exam runs and the service is busy, then `praxis restore` into a
fresh data folder: a service started on it has every session, grade, event and recording."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.integration.conftest import PRAXIS, Service


def terminal(service: Service, session: dict[str, Any]) -> ClientConnection:
    url = f"ws://127.0.0.1:{service.port}/ws/sessions/{session['id']}/nodes/web/terminal"
    headers = {"Cookie": f"praxis={session['access']['token']}", "Origin": service.url}
    return connect(url, additional_headers=headers)


class Shell:
    """The candidate's browser terminal, spoken to as the page does (JSON over a WebSocket)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket, self.seen = socket, ""

    def run(self, command: str, answer: str, timeout: float = 60) -> None:
        """Type `command`, read until `answer` is shown (so it is in the recording too)."""
        self.socket.send(json.dumps({"t": "i", "d": command + "\n"}))
        deadline = time.monotonic() + timeout
        while answer not in self.seen:
            assert time.monotonic() < deadline, f"{answer!r} never shown: {self.seen[-500:]}"
            message = json.loads(self.socket.recv(timeout=deadline - time.monotonic()))
            self.seen += message.get("d", "")


class Load:
    """Keeps the service writing while the backup runs: the candidate types (the recording
    grows), the examiner extends the exam (events, audit) and reads the dashboard's lists."""

    def __init__(self, service: Service, session: dict[str, Any], shell: Shell) -> None:
        self.service, self.session, self.shell = service, session, shell
        self.rounds, self.stop = 0, threading.Event()
        self.error: BaseException | None = None
        self.progress = threading.Condition()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.service.client() as api:
                while not self.stop.is_set():
                    n = self.rounds
                    self.shell.run(f"echo tick-$((1000+{n}))", f"tick-{1000 + n}")
                    reply = api.post(
                        f"/api/sessions/{self.session['id']}/extend",
                        json={"minutes": 1, "reason": f"load {n}"},
                    )
                    assert reply.status_code == 200, reply.text
                    assert api.get("/api/sessions").status_code == 200
                    with self.progress:
                        self.rounds += 1
                        self.progress.notify_all()
        except BaseException as exc:  # said in the test's own thread
            self.error = exc
            with self.progress:
                self.progress.notify_all()

    def wait_rounds(self, count: int, timeout: float = 120) -> int:
        with self.progress:
            done = self.progress.wait_for(
                lambda: self.rounds >= count or self.error is not None, timeout
            )
        assert done and self.error is None, f"load stopped: {self.error!r}"
        return self.rounds

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(120)
        assert self.error is None, f"load failed: {self.error!r}"


def quick(api: Any, candidate: str) -> dict[str, Any]:
    created = api.post("/api/sessions", json={"scenario": "quick", "candidate": candidate})
    assert created.status_code == 202, created.text
    body: dict[str, Any] = created.json()
    return body


def test_backup_under_load_restores_sessions_grades_events_and_recordings(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Service(tmp_path / "a").start()
    second: Service | None = None
    try:
        with first.client() as api:
            done, running = quick(api, "Ada Graded"), quick(api, "Bob Running")
            first.wait(done["id"], "ready")
            assert api.post(f"/api/sessions/{done['id']}/end").status_code == 200
            first.wait(running["id"], "ready")
            extended = api.post(
                f"/api/sessions/{running['id']}/extend", json={"minutes": 30, "reason": "long"}
            )
            assert extended.status_code == 200, extended.text
            first.wait(done["id"], "graded", "torn_down")
            result = api.get(f"/api/sessions/{done['id']}/result").json()

        with terminal(first, running) as socket:
            shell = Shell(socket)
            shell.run("echo $((6*7))-answer", "42-answer")
            load = Load(first, running, shell)
            before = load.wait_rounds(2)  # typed, recorded and extended before the backup
            started = time.monotonic()
            first.cli("backup", str(tmp_path / "backup"))
            took = time.monotonic() - started
            load.wait_rounds(load.rounds + 1)  # and the service went on working after it
            load.finish()
        print(f"backup under load: {took:.2f}s, {load.rounds} load rounds in all")

        # Never over a running service's data folder.
        refused = subprocess.run(
            [PRAXIS, "restore", str(tmp_path / "backup")],
            env=first.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert refused.returncode == 1 and "stop it first" in refused.stderr, refused
        assert "Traceback" not in refused.stderr
        first.kill(signal.SIGTERM)

        second = Service(tmp_path / "b")
        second.cli("restore", str(tmp_path / "backup"))
        second.token = first.token  # the restored database has the first service's users
        second.start()
        db = sqlite3.connect(Path(second.env["PRAXIS_DATA_DIR"]) / "praxis.db")
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.close()
        with second.client() as api:
            ids = {s["id"] for s in api.get("/api/sessions").json()}
            assert {done["id"], running["id"]} <= ids
            assert api.get(f"/api/sessions/{done['id']}/result").json() == result
            details = [e["detail"] for e in api.get(f"/api/sessions/{running['id']}/events").json()]
            assert {f"+1 min: load {n}" for n in range(before)} <= set(details), details
            cast = api.get(f"/api/sessions/{running['id']}/recordings/web.cast")
            assert cast.status_code == 200, cast.text
        lines = [json.loads(line) for line in cast.text.splitlines()]  # a valid cast, cut whole
        said = "".join(event[2] for event in lines[1:] if event[1] == "o")
        assert "42-answer" in said
        assert all(f"tick-{1000 + n}" in said for n in range(before)), said[-500:]
    finally:
        first.kill(signal.SIGTERM)
        if second is not None:
            second.kill(signal.SIGTERM)
        first.destroy_all()  # one instance (the restored one is the same): its labs go
