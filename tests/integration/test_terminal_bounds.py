"""What one candidate's terminals may cost the service, against the real service and a real
lab: `yes` in the shell with a WebSocket that stops reading keeps the service's memory and the
session's recording bounded (the slow browser is dropped, a reading one keeps its output and a
reconnecting one gets the screen back from the scroll-back), the terminal after the last seat
is refused, and so is a WebSocket from another site."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.http11 import Response
from websockets.uri import parse_uri

from tests.integration.conftest import Service, form_token
from tests.integration.ui import examiner_password, page, sign_in, start

CAP_MIB = 4  # the session's recording cap, small: the flood reaches it in seconds
FLOOD = 64 * 1024 * 1024  # characters a reading browser gets before the flood is stopped
RSS_BOUND = 64 * 1024 * 1024  # the service grows less than this through the flood
MiB = 1024 * 1024


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path, recording_cap_mib=str(CAP_MIB), terminals_per_node="2").start()
    yield svc
    svc.kill(signal.SIGTERM)
    svc.destroy_all()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _refused(url: str, headers: dict[str, str]) -> ConnectionClosed:
    async with connect(url, additional_headers=headers) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 30)
    return closed.value


async def _until(socket: ClientConnection, text: str) -> None:
    seen = ""  # its tail only: tens of MiB of flood may come first
    while text not in seen:
        seen = seen[-len(text) :] + json.loads(await asyncio.wait_for(socket.recv(), 60))["d"]


class Idle:
    """A WebSocket that sends and then stops reading: a raw socket with a small receive buffer
    (a client library would go on reading into its own memory), spoken through websockets'
    sans-I/O protocol."""

    def __init__(self, url: str, cookie: dict[str, str]) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        request = self.protocol.connect()
        request.headers.update(cookie)
        self.protocol.send_request(request)
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.settimeout(60)
        self.socket.connect(("127.0.0.1", parse_uri(url).port))
        self._flush()
        while not any(isinstance(e, Response) for e in self._read()):
            pass

    def _flush(self) -> None:
        self.socket.sendall(b"".join(self.protocol.data_to_send()))

    def _read(self) -> list[object]:
        self.protocol.receive_data(self.socket.recv(65536))
        return list(self.protocol.events_received())

    def send(self, message: dict[str, str]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def closed(self) -> Close:
        """Read at last, until the service's close frame: its code and reason."""
        while self.protocol.close_rcvd is None and (data := self.socket.recv(65536)):
            self.protocol.receive_data(data)
        self.socket.close()
        return self.protocol.close_rcvd or Close(1006, "no close frame")


async def _follow(url: str, cookie: dict[str, str], pid: int) -> tuple[int, int]:
    """Read the flood as a browser does (dropped if it falls behind: connect again) until
    FLOOD characters came, then stop it and read on to the prompt after it. The characters
    read and the service's peak RSS meanwhile."""
    reader, received, peak, tail = await connect(url, additional_headers=cookie), 0, _rss(pid), ""
    stopped = False
    try:
        while "flood-over\r\n" not in tail:  # the line echo prints, after the flood
            try:
                text = json.loads(await asyncio.wait_for(reader.recv(), 60))["d"]
            except ConnectionClosed as closed:  # a busy host: this one fell behind too
                assert closed.rcvd is not None and closed.rcvd.code == 4001, closed
                reader = await connect(url, additional_headers=cookie)
                continue
            tail, received = (tail[-16:] + text)[-4096:], received + len(text)
            peak = max(peak, _rss(pid))
            if received >= FLOOD and not stopped:
                await reader.send(json.dumps({"t": "i", "d": "\x03clear; echo flood-over\r"}))
                stopped = True
    finally:
        await reader.close()
    return received, peak


async def _flood(service: Service, url: str, cookie: dict[str, str]) -> dict[str, Any]:
    assert service.process is not None
    pid, cast = service.process.pid, Path(service.env["PRAXIS_DATA_DIR"]) / "recordings"
    idle = await asyncio.to_thread(Idle, url, cookie)
    async with connect(url, additional_headers=cookie) as other:
        await _until(other, "$ ")
        third = await _refused(url, cookie)  # two seats per node here: both taken
    foreign = await _refused(url, {**cookie, "Origin": "http://evil.example"})
    base = _rss(pid)
    idle.send({"t": "i", "d": "yes\r"})
    received, peak = await _follow(url, cookie, pid)
    dropped = await asyncio.to_thread(idle.closed)  # it reads at last: then the end
    # Its browser connects again: the scroll-back gives the screen back.
    async with connect(url, additional_headers=cookie) as again:
        screen = json.loads(await asyncio.wait_for(again.recv(), 60))["d"]
    return {
        "third": third,
        "foreign": foreign,
        "growth": peak - base,
        "received": received,
        "dropped": dropped,
        "screen": screen,
        "casts": sorted(cast.rglob("*.cast")),
    }


def test_a_flooded_terminal_keeps_the_service_bounded(browser: Browser, bounded: Service) -> None:
    session = start(bounded, "hostile", "Léa Flot")
    bounded.wait(session["id"], "ready")
    with httpx.Client(base_url=bounded.url) as browser_like:  # the exam form, as a browser
        form = {"code": session["code"], "csrf": form_token(browser_like, "/exam")}
        signed_in = browser_like.post("/exam", data=form)
    cookie = {"Cookie": f"praxis={signed_in.cookies['praxis']}"}
    url = f"ws://127.0.0.1:{bounded.port}/ws/sessions/{session['id']}/nodes/web/terminal"
    with ThreadPoolExecutor(1) as apart:  # Playwright's sync API holds this thread's loop
        seen = apart.submit(asyncio.run, _flood(bounded, url, cookie)).result()

    assert seen["received"] >= FLOOD, "the reading browser stopped getting the flood"
    assert seen["growth"] < RSS_BOUND, f"service grew {seen['growth'] / MiB:.0f} MiB"
    print(f"service RSS growth through the flood: {seen['growth'] / MiB:.1f} MiB")
    third, foreign = seen["third"].rcvd, seen["foreign"].rcvd
    assert third is not None and third.code == 4429 and "terminaux" in third.reason
    assert foreign is not None and (foreign.code, foreign.reason) == (4403, "origin not allowed")
    # The idle browser was dropped (its close comes after what the service had sent it; a
    # keep-alive timeout may come first on a slow host, as a browser would see it too).
    assert "fell 1024 KiB behind: dropped" in bounded.log.read_text()
    assert seen["dropped"].code in (4001, 1011), seen["dropped"]
    assert "flood-over" in seen["screen"] and len(seen["screen"]) <= 256 * 1024

    # The recording stopped at the cap, says so, and is still a cast the replay page reads.
    (path,) = seen["casts"]
    assert path.stat().st_size <= CAP_MIB * MiB + 2048
    with bounded.client() as api:
        reply = api.get(f"/api/sessions/{session['id']}/recordings/web.cast")
    header, *events = [json.loads(line) for line in reply.text.splitlines()]
    assert header["version"] == 2 and all(len(e) == 3 for e in events)
    assert ["m", "cut"] in [e[1:] for e in events]
    examiner = page(browser)
    sign_in(examiner, bounded, *examiner_password(bounded))
    examiner.goto(f"{bounded.url}/staff/sessions/{session['id']}/recordings/web")
    # It plays to the end: the last screen is the note where the recording was cut.
    expect(examiner.locator(".ap-player")).to_contain_text("recording limit", timeout=60_000)
