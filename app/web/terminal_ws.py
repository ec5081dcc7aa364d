"""The terminal WebSocket: the candidate types into their node's shell; examiners watch it.

Messages are JSON. Browser -> server: {"t": "i", "d": keys} and {"t": "r", "cols", "rows"}.
Server -> browser: {"t": "o", "d": text} (the scroll-back first), {"t": "end", "d": why}.
Close codes: END (4000) over for good; app.web.ws_guard's for a foreign origin, too many
terminals open, a browser too slow to keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import paramiko
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.api.deps import COOKIE
from app.auth import Principal, authenticate
from app.db import unit_of_work
from app.errors import Unauthorized
from app.models import LabSession, Role, State
from app.terminals import SharedStream
from app.web.i18n import texts
from app.web.ws_guard import FOREIGN, NOT_YOURS, TOO_SLOW, refuse, same_origin, seat
from graders.transport import load_key

router = APIRouter()
log = logging.getLogger("praxis.terminals")
END = 4000  # close code: the terminal is over for good, do not reconnect


def caller(websocket: WebSocket, session_id: str) -> tuple[Principal | None, LabSession | None]:
    with unit_of_work(websocket.app.state.engine) as db:
        try:
            who = authenticate(db, None, websocket.cookies.get(COOKIE))
        except Unauthorized:
            return None, None
        lab = db.get(LabSession, session_id)
        return who, lab if lab and not lab.pooled else None  # a pooled lab: no one's yet


def allowed(who: Principal, session_id: str) -> bool:
    if who.role is Role.candidate:
        return who.session_id == session_id
    return who.role in (Role.examiner, Role.admin)


@router.websocket("/ws/sessions/{session_id}/nodes/{node}/terminal")
async def terminal(websocket: WebSocket, session_id: str, node: str) -> None:
    if not same_origin(websocket):
        await refuse(websocket, NOT_YOURS, FOREIGN)
        return
    who, lab = caller(websocket, session_id)
    if (
        who is None
        or lab is None
        or not allowed(who, session_id)
        or node not in (lab.nodes or {node: 0})
    ):
        await websocket.close(code=NOT_YOURS)
        return
    say = texts(websocket.cookies.get("lang") or "fr")
    watcher = who.role is not Role.candidate
    why = say["too_many_terminals"]
    async with seat(websocket, session_id, node, "terminal", watcher, why) as held:
        if held:
            await websocket.accept()
            await _shell(websocket, lab, node, watcher, say)


async def _shell(
    websocket: WebSocket, lab: LabSession, node: str, watcher: bool, say: dict[str, str]
) -> None:
    """The node's shell for an accepted socket, once the lab is ready and while it is."""
    session_id = lab.id
    if lab.state in (State.requested, State.provisioning):
        await websocket.close()  # not yet: the browser asks again
        return
    if lab.state is not State.ready:
        await end(websocket, say["exam_over"])
        return
    row = lab.nodes[node]
    try:
        shell = await websocket.app.state.terminals.open(
            session_id,
            node,
            row["address"],
            lab.candidate_user,
            load_key(lab.grader_key),
            lab.candidate_password,
        )
    except (OSError, paramiko.SSHException):
        await websocket.close()  # the node is restarting or sshd is down: try again later
        return
    await serve(websocket, session_id, shell, watcher, say)


async def serve(
    websocket: WebSocket, session_id: str, stream: SharedStream, watcher: bool, say: dict[str, str]
) -> None:
    """Relay a shared stream (a shell, a serial console) to one browser until either side
    ends or the browser falls too far behind (then TOO_SLOW: it reconnects); examiners only
    watch."""
    backlog = websocket.app.state.settings.terminal_backlog_kib * 1024
    scrollback, queue = stream.subscribe(backlog)

    async def forward() -> None:
        await websocket.send_text(json.dumps({"t": "o", "d": scrollback}))
        while (text := await queue.next()) is not None:
            await websocket.send_text(json.dumps({"t": "o", "d": text}))
        if queue.dropped.is_set():
            return
        _, lab = caller(websocket, session_id)
        if lab is not None and lab.state is State.ready:
            await websocket.close()  # the shell exited, the machine restarted: opened again
        else:
            await end(websocket, say["exam_over"])

    async def receive() -> None:
        while True:
            message: dict[str, Any] = json.loads(await websocket.receive_text())
            if watcher:
                continue  # examiners watch; they never type into a candidate's shell
            if message.get("t") == "i":
                await asyncio.to_thread(stream.send, str(message.get("d", "")))
            elif message.get("t") == "r":
                stream.resize(int(message.get("cols", 80)), int(message.get("rows", 24)))

    # A dropped browser may be stuck in a send (it does not read): it is cut, not waited for.
    work = [forward(), receive(), queue.dropped.wait()]
    tasks = [asyncio.create_task(w) for w in work]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        stream.unsubscribe(queue)
        for task in tasks:
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, ValueError, RuntimeError
            ):
                await task
    if queue.dropped.is_set():
        log.warning("session %s: a browser fell %d KiB behind: dropped", session_id, backlog >> 10)
        await refuse(websocket, TOO_SLOW, "too far behind: reconnect")


async def end(websocket: WebSocket, why: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_text(json.dumps({"t": "end", "d": why}))
        await websocket.close(code=END)
