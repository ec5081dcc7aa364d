"""Browser terminals without a node: what the browser types reaches the shell as UTF-8, and
the bounds: a browser that falls behind is dropped, a session's recordings stop at their cap,
seats per node, and WebSockets from another site refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.deps import COOKIE
from app.auth import create_user
from app.config import Settings
from app.db import unit_of_work
from app.models import Role
from app.terminals import (
    BATCH,
    SCROLLBACK,
    Budgets,
    Recorder,
    SharedStream,
    Terminal,
    Watcher,
)
from app.web.ws_guard import Seats
from tests.unit.test_api_roles import client as client
from tests.unit.test_api_roles import new_session


class Channel:
    def __init__(self) -> None:
        self.sent = b""

    def send(self, data: bytes) -> None:
        self.sent += data


def _terminal(tmp_path: Path) -> tuple[Terminal, Channel]:
    terminal = Terminal.__new__(Terminal)  # no SSH connection: only the sending half
    channel = Channel()
    terminal.channel = channel  # type: ignore[assignment]
    terminal.recorder = Recorder(tmp_path / "web.cast")
    terminal.alive = True
    return terminal, channel


def test_accents_are_sent_as_utf8(tmp_path: Path) -> None:
    terminal, channel = _terminal(tmp_path)
    terminal.send("echo 'Émile Zola — ça'\r")
    terminal.recorder.close()
    assert channel.sent == "echo 'Émile Zola — ça'\r".encode()


def test_a_broken_paste_does_not_cut_the_terminal(tmp_path: Path) -> None:
    terminal, channel = _terminal(tmp_path)
    terminal.send("a\ud83dé")  # half an emoji, as JSON can carry it
    terminal.recorder.close()
    assert channel.sent == "a?é".encode()
    assert "\\ud83d" in (tmp_path / "web.cast").read_text()


# Bounds: what one browser or one session may cost the service.


def test_a_watcher_gets_what_follows_in_batches_then_the_end() -> None:
    async def scenario() -> None:
        watcher = Watcher(limit=BATCH * 4)
        for _ in range(3):
            watcher.push("y\n" * (BATCH // 4))
        watcher.push(None)
        assert await watcher.next() == "y\n" * (BATCH // 2)  # two chunks joined, not more
        assert await watcher.next() == "y\n" * (BATCH // 4)
        assert await watcher.next() is None
        assert not watcher.dropped.is_set()

    asyncio.run(scenario())


def test_a_watcher_too_far_behind_is_dropped_and_holds_nothing() -> None:
    async def scenario() -> None:
        watcher = Watcher(limit=1000)
        watcher.push("x" * 600)
        watcher.push("x" * 600)
        assert watcher.dropped.is_set() and watcher.size == 0 and not watcher.pending
        watcher.push("x")  # what follows is not kept either
        assert await watcher.next() is None and not watcher.pending

    asyncio.run(scenario())


class Flood(SharedStream):
    """A stream fed by the test instead of a node."""

    def _recv(self) -> bytes:
        return b""

    def _write(self, data: bytes) -> None:
        pass


def test_a_flood_drops_the_browser_that_does_not_read_not_the_one_that_does(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        stream = Flood(Recorder(tmp_path / "web.cast"), asyncio.get_running_loop())
        _, idle = stream.subscribe(backlog=100_000)
        _, reading = stream.subscribe(backlog=100_000)
        got = 0
        for _ in range(100):
            stream.in_flight.acquire()  # as the reader thread does
            stream._publish("y\n" * 1000)
            got += len(await reading.next() or "")
        assert idle.dropped.is_set() and idle not in stream.subscribers
        assert reading in stream.subscribers and got == 200_000
        assert len(stream.scrollback) <= SCROLLBACK

    asyncio.run(scenario())


def test_a_session_s_recordings_stop_at_its_cap_and_say_where(tmp_path: Path) -> None:
    cap = 1024 * 1024
    budgets = Budgets(tmp_path, cap)
    web = Recorder(tmp_path / "s1" / "web.cast", budgets.get("s1"))
    db = Recorder(tmp_path / "s1" / "db.cast", budgets.get("s1"))  # the same session's budget
    other = Recorder(tmp_path / "s2" / "web.cast", budgets.get("s2"))
    for _ in range(400):
        web.event("o", "y\n" * 1000)
        db.event("o", "y\n" * 1000)
    other.event("o", "still recorded")
    for recorder in (web, db, other):
        recorder.close()
    sizes = [(tmp_path / "s1" / f"{node}.cast").stat().st_size for node in ("web", "db")]
    reserve = cap // 10  # kept for what is typed after the cut
    assert cap - reserve - 10_000 < sum(sizes) <= cap - reserve + 1024
    for node in ("web", "db"):
        *_, note, marker = (tmp_path / "s1" / f"{node}.cast").read_text().splitlines()
        assert "recording limit" in json.loads(note)[2] and json.loads(marker)[1:] == ["m", "cut"]
    assert "still recorded" in (tmp_path / "s2" / "web.cast").read_text()
    # What is typed after the cut is still recorded, from the reserve, and then it stops too.
    web = Recorder(tmp_path / "s1" / "web.cast", budgets.get("s1"))
    web.event("i", "systemctl restart apache2\r")
    web.event("o", "hidden output")
    for _ in range(200):
        web.event("i", "x" * 1000)
    web.close()
    kept = (tmp_path / "s1" / "web.cast").read_text()
    assert "systemctl restart apache2" in kept and "hidden output" not in kept
    assert sum(p.stat().st_size for p in (tmp_path / "s1").glob("*.cast")) <= cap + 2048
    # A restarted service appends: the budget counts what is already on disk, headers too.
    again = Recorder(tmp_path / "s1" / "web.cast", Budgets(tmp_path, cap).get("s1"))
    for _ in range(100):
        again.event("o", "y\n" * 1000)
    again.close()
    assert sum(p.stat().st_size for p in (tmp_path / "s1").glob("*.cast")) <= cap + 2048


def test_seats_are_counted_per_node_and_role_and_given_back() -> None:
    seats = Seats(candidate=2, watchers=1)
    web = ("s", "web", "terminal")
    with seats.hold(*web, False) as a, seats.hold(*web, False) as b:
        with seats.hold(*web, False) as c:
            assert (a, b, c) == (True, True, False)
        with seats.hold(*web, True) as watcher:
            assert watcher  # examiners are counted apart
        with seats.hold("s", "db", "terminal", False) as other_node:
            assert other_node
    with seats.hold(*web, False) as again:
        assert again and seats.taken[(*web, False)] == 1
    assert not seats.taken


def test_a_websocket_from_another_site_is_refused(client: TestClient) -> None:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        examiner = create_user(db, "e", Role.examiner)
    created = new_session(client, examiner)
    client.cookies.set(COOKIE, created["access"]["token"])
    base = f"/ws/sessions/{created['id']}/nodes/web"
    for what in ("terminal", "console", "display"):
        foreign = {"Origin": "http://evil.example"}
        refused = client.websocket_connect(f"{base}/{what}", headers=foreign)
        with refused as socket, pytest.raises(WebSocketDisconnect) as end:
            socket.receive_text()
        assert (end.value.code, end.value.reason) == (4403, "origin not allowed"), what
    # The service's own pages (Origin is the Host asked) and non-browser clients (no Origin)
    # get in: the lab is not built yet, so they are told to come back (1000).
    for headers in ({"Origin": "http://testserver"}, {}):
        admitted = client.websocket_connect(f"{base}/terminal", headers=headers)
        with admitted as socket, pytest.raises(WebSocketDisconnect) as end:
            socket.receive_text()
        assert end.value.code == 1000


def test_a_public_origin_can_be_allowed(tmp_path: Path) -> None:
    settings = Settings(public_origins="https://Exam.example.org/, https://b.example")
    assert settings.public_origin_set == {"https://exam.example.org", "https://b.example"}
