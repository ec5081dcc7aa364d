"""The WebSockets of a VM's consoles, beside its terminal (app.web.terminal_ws), with the same
rules: the candidate of the session while it is ready, examiners watching read-only, and the
end of the exam cuts them (ConsoleHub.close_session, from the controller).

Serial console, JSON as the terminal: browser -> server {"t": "i", "d": keys}; server ->
browser {"t": "hello", "display": bool} first (which consoles the node has), then {"t": "o",
"d": text} (the scroll-back first) and {"t": "end", "d": why}.
Screen: the VNC protocol in binary messages, for noVNC (app/static/vendor/novnc).
Close codes: 4000 over for good (END), 4403 not yours (or another site's page), 4404 no such
console: do not retry; 4429 too many open (app.web.ws_guard): retry later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.catalog import Catalog
from app.consoles import ConsoleHub, ConsoleUnavailable
from app.errors import PraxisError
from app.models import LabSession, Role, State
from app.vnc import RfbClientFilter, RfbRefused
from app.web.i18n import texts
from app.web.terminal_ws import END, allowed, caller, end, serve
from app.web.ws_guard import FOREIGN, NOT_YOURS, same_origin, seat
from labs.scenario import Node

router = APIRouter()
NO_CONSOLE = 4404


async def _admit(
    websocket: WebSocket, session_id: str, node: str
) -> tuple[LabSession, Node, bool] | None:
    """The session, the node as its scenario says and whether the caller only watches; or
    None, the socket closed with why (accepted first: a refused handshake has no close code)."""
    who, lab = caller(websocket, session_id)
    await websocket.accept()
    if not same_origin(websocket):
        await websocket.close(code=NOT_YOURS, reason=FOREIGN)
        return None
    if who is None or lab is None or not allowed(who, session_id):
        await websocket.close(code=NOT_YOURS)
        return None
    vm = _vm(websocket.app.state.catalog, lab, node)
    if vm is None:
        await websocket.close(code=NO_CONSOLE)
        return None
    return lab, vm, who.role is not Role.candidate


def _vm(catalog: Catalog, lab: LabSession, node: str) -> Node | None:
    """The node if it is one of the lab's VMs (before the lab is built: of its scenario's)."""
    if lab.nodes and node not in lab.nodes:
        return None
    try:
        found = catalog.get(lab.scenario).nodes.get(node)
    except PraxisError:  # the scenario went away or broke: no console rather than an error
        return None
    return found if found is not None and found.kind == "vm" else None


async def _open_now(
    websocket: WebSocket, lab: LabSession, say: dict[str, str], binary: bool
) -> bool:
    """Whether the console may be opened now; if not, the socket is closed with why (in a
    close frame for the screen's `binary` socket, in a message for the serial console's)."""
    if lab.state in (State.requested, State.provisioning):
        await websocket.close()  # not yet: the browser asks again
        return False
    if lab.state is State.ready:
        return True
    if binary:
        await _end_screen(websocket, say["exam_over"])
    else:
        await end(websocket, say["exam_over"])
    return False


async def _end_screen(websocket: WebSocket, why: str) -> None:
    """noVNC speaks binary only: the reason travels in the close frame (at most 123 bytes)."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=END, reason=why.encode()[:123].decode(errors="ignore"))


@router.websocket("/ws/sessions/{session_id}/nodes/{node}/console")
async def serial_console(websocket: WebSocket, session_id: str, node: str) -> None:
    admitted = await _admit(websocket, session_id, node)
    if admitted is None:
        return
    lab, vm, watcher = admitted
    say = texts(websocket.cookies.get("lang") or "fr")
    full = say["too_many_terminals"]
    async with seat(websocket, session_id, node, "console", watcher, full) as held:
        if held:
            await websocket.send_text(json.dumps({"t": "hello", "display": vm.display}))
            await _serial(websocket, lab, node, watcher, say)


async def _serial(
    websocket: WebSocket, lab: LabSession, node: str, watcher: bool, say: dict[str, str]
) -> None:
    session_id = lab.id
    if not await _open_now(websocket, lab, say, binary=False):
        return
    hub: ConsoleHub = websocket.app.state.consoles
    try:
        console = await hub.serial(session_id, node)
    except ConsoleUnavailable:
        await websocket.close()  # the machine is off or restarting: the browser tries again
        return
    await serve(websocket, session_id, console, watcher, say)


@router.websocket("/ws/sessions/{session_id}/nodes/{node}/display")
async def screen(websocket: WebSocket, session_id: str, node: str) -> None:
    admitted = await _admit(websocket, session_id, node)
    if admitted is None:
        return
    lab, vm, watcher = admitted
    say = texts(websocket.cookies.get("lang") or "fr")
    if not vm.display:
        await websocket.close(code=NO_CONSOLE)
        return
    full = say["too_many_terminals"]
    async with seat(websocket, session_id, node, "display", watcher, full) as held:
        if held:
            await _screen(websocket, lab, node, watcher, say)


async def _screen(
    websocket: WebSocket, lab: LabSession, node: str, watcher: bool, say: dict[str, str]
) -> None:
    session_id = lab.id
    if not await _open_now(websocket, lab, say, binary=True):
        return
    hub: ConsoleHub = websocket.app.state.consoles
    try:
        link = hub.join_screen(session_id, node)
    except ConsoleUnavailable:
        await websocket.close()
        return
    try:
        host, port = await hub.screen_address(session_id, node)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (ConsoleUnavailable, OSError, TimeoutError):
        hub.leave_screen(link)
        await websocket.close()  # the machine is off or restarting: the browser tries again
        return
    try:
        await _proxy(websocket, reader, writer, RfbClientFilter(watcher), link.cut)
    finally:
        hub.leave_screen(link)
        writer.close()
    if link.cut.is_set():
        await _end_screen(websocket, say["exam_over"])
    else:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()  # a side left: the browser opens it again if it was not it


async def _proxy(
    websocket: WebSocket,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    rfb: RfbClientFilter,
    cut: asyncio.Event,
) -> None:
    """Bytes both ways until either side leaves, the browser breaks the rules or the cut."""

    async def to_browser() -> None:
        while data := await reader.read(65536):
            await websocket.send_bytes(data)

    async def to_server() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes") or (message.get("text") or "").encode()
            writer.write(rfb.feed(data))
            await writer.drain()

    await _until_first([to_browser(), to_server(), cut.wait()])


async def _until_first(work: list[Any]) -> None:
    """Run coroutines until the first ends (a side left, or the cut); cancel the others."""
    tasks = [asyncio.create_task(w) for w in work]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(
                asyncio.CancelledError,
                WebSocketDisconnect,
                RfbRefused,
                ConnectionError,
                ValueError,
                RuntimeError,
            ):
                await task
