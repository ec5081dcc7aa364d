"""A VM's consoles without a VM: what a browser may say to the screen's VNC server, the
recording's cap, the cut at the end, and who may open a console at all."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.deps import COOKIE
from app.auth import create_user
from app.config import Settings
from app.consoles import ConsoleHub, ConsoleUnavailable
from app.db import unit_of_work
from app.main import create_app
from app.models import Role
from app.vnc import RfbClientFilter, RfbRefused
from tests.unit.test_api_roles import NoLabs, new_session
from tests.unit.test_api_roles import client as client

HANDSHAKE = b"RFB 003.008\n" + b"\x01" + b"\x00"  # version, security None, ClientInit exclusive
PIXEL_FORMAT = bytes([0, 0, 0, 0]) + bytes(16)
ENCODINGS = bytes([2, 0]) + struct.pack(">H", 2) + struct.pack(">ii", 0, -223)
UPDATE = bytes([3, 1]) + struct.pack(">HHHH", 0, 0, 720, 400)
FENCE = bytes([248, 0, 0, 0]) + struct.pack(">I", 1) + bytes([3]) + b"abc"
KEY = bytes([4, 1, 0, 0]) + struct.pack(">I", 0x61)
POINTER = bytes([5, 1]) + struct.pack(">HH", 10, 10)
CLIPBOARD = bytes([6, 0, 0, 0]) + struct.pack(">i", -4) + struct.pack(">I", 1)  # ext. caps


def test_every_viewer_is_made_shared() -> None:
    """A viewer asking for exclusive access would disconnect every other one."""
    for watcher in (False, True):
        assert RfbClientFilter(watcher).feed(HANDSHAKE) == b"RFB 003.008\n\x01\x01"


def test_only_the_none_security_type_and_known_versions_pass() -> None:
    with pytest.raises(RfbRefused, match="security type 2"):
        RfbClientFilter(False).feed(b"RFB 003.008\n\x02")
    with pytest.raises(RfbRefused, match="version"):
        RfbClientFilter(False).feed(b"RFB 004.001\n")
    # RFB 3.3: the server chooses the security type, the client's next byte is ClientInit.
    assert RfbClientFilter(False).feed(b"RFB 003.003\n\x00") == b"RFB 003.003\n\x01"


def test_the_candidate_drives_the_screen() -> None:
    rfb = RfbClientFilter(watcher=False)
    rfb.feed(HANDSHAKE)
    typed = KEY + POINTER + CLIPBOARD + bytes([255, 0])  # even a QEMU extension, half sent
    assert rfb.feed(typed) == typed


def test_a_watcher_asks_for_pictures_only() -> None:
    rfb = RfbClientFilter(watcher=True)
    rfb.feed(HANDSHAKE)
    pictures = PIXEL_FORMAT + ENCODINGS + UPDATE + FENCE
    assert rfb.feed(pictures) == pictures
    assert rfb.feed(CLIPBOARD + UPDATE) == UPDATE  # noVNC answers clipboard caps: dropped
    for refused in (KEY, POINTER, bytes([255, 0, 0, 1])):
        watcher = RfbClientFilter(watcher=True)
        watcher.feed(HANDSHAKE)
        with pytest.raises(RfbRefused, match="only looks"):
            watcher.feed(refused)


def test_messages_cut_anywhere_are_put_back_together() -> None:
    rfb = RfbClientFilter(watcher=True)
    stream = HANDSHAKE + ENCODINGS + FENCE + CLIPBOARD + UPDATE
    out = b"".join(rfb.feed(stream[i : i + 1]) for i in range(len(stream)))
    assert out == b"RFB 003.008\n\x01\x01" + ENCODINGS + FENCE + UPDATE


def test_a_watcher_cannot_make_the_proxy_hold_a_huge_clipboard() -> None:
    rfb = RfbClientFilter(watcher=True)
    rfb.feed(HANDSHAKE)
    with pytest.raises(RfbRefused, match="clipboard"):
        rfb.feed(bytes([6, 0, 0, 0]) + struct.pack(">i", 64 * 1024 * 1024))


def test_nothing_opens_again_after_the_cut(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = ConsoleHub(tmp_path, source=None)
        with pytest.raises(ConsoleUnavailable, match="no VM backend"):
            await hub.serial("s1", "vm")
        link = hub.join_screen("s1", "vm")
        await hub.close_session("s1")
        assert link.cut.is_set()
        with pytest.raises(ConsoleUnavailable, match="over"):
            hub.join_screen("s1", "vm")
        with pytest.raises(ConsoleUnavailable, match="over"):
            await hub.serial("s1", "vm")

    asyncio.run(scenario())


def test_consoles_are_for_vms_and_their_people(client: TestClient) -> None:
    """The WebSockets answer with a close code the browser understands: 4403 not yours,
    4404 no such console (here: amp-stack's `web` is a container)."""
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        examiner = create_user(db, "e", Role.examiner)
        instructor = create_user(db, "i", Role.instructor)
    created = new_session(client, examiner)
    for token, code in ((None, 4403), (instructor, 4403), (examiner, 4404)):
        client.cookies.clear()
        if token:
            client.cookies.set(COOKIE, token)
        for what in ("console", "display"):
            url = f"/ws/sessions/{created['id']}/nodes/web/{what}"
            with client.websocket_connect(url) as socket, pytest.raises(WebSocketDisconnect) as end:
                socket.receive_text()
            assert end.value.code == code, (token, what)
    client.cookies.set(COOKIE, created["access"]["token"])  # the candidate, on another's session
    other = new_session(client, examiner, "D")
    url = f"/ws/sessions/{other['id']}/nodes/web/console"
    with client.websocket_connect(url) as socket, pytest.raises(WebSocketDisconnect) as end:
        socket.receive_text()
    assert end.value.code == 4403


def test_a_vm_says_which_consoles_it_has_and_waits_for_its_lab(tmp_path: Path) -> None:
    scenarios = Path(__file__).parents[1] / "integration" / "scenarios"
    settings = Settings(data_dir=tmp_path, scenarios_dir=scenarios)
    app = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        with unit_of_work(app.state.engine) as db:
            examiner = create_user(db, "e", Role.examiner)
        created = new_session(test_client, examiner, scenario="vm-lab")
        test_client.cookies.set(COOKIE, created["access"]["token"])
        base = f"/ws/sessions/{created['id']}/nodes"
        with test_client.websocket_connect(f"{base}/vm/console") as socket:
            assert json.loads(socket.receive_text()) == {"t": "hello", "display": True}
            with pytest.raises(WebSocketDisconnect) as end:  # not built yet: ask again later
                socket.receive_text()
        assert end.value.code == 1000
        box = test_client.websocket_connect(f"{base}/box/console")
        with box as socket, pytest.raises(WebSocketDisconnect) as end:
            socket.receive_text()
        assert end.value.code == 4404
