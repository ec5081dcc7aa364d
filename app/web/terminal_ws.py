"""The terminal WebSocket: the candidate types into their node's shell; examiners watch it.

Messages are JSON. Browser -> server: {"t": "i", "d": keys} and {"t": "r", "cols", "rows"}.
Server -> browser: {"t": "o", "d": text} (the scroll-back first), {"t": "end", "d": why}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from graders.transport import load_key

router = APIRouter()
END = 4000  # close code: the terminal is over for good, do not reconnect


def caller(websocket: WebSocket, session_id: str) -> tuple[Principal | None, LabSession | None]:
    with unit_of_work(websocket.app.state.engine) as db:
        try:
            who = authenticate(db, None, websocket.cookies.get(COOKIE))
        except Unauthorized:
            return None, None
        return who, db.get(LabSession, session_id)


def allowed(who: Principal, session_id: str) -> bool:
    if who.role is Role.candidate:
        return who.session_id == session_id
    return who.role in (Role.examiner, Role.admin)


@router.websocket("/ws/sessions/{session_id}/nodes/{node}/terminal")
async def terminal(websocket: WebSocket, session_id: str, node: str) -> None:
    who, lab = caller(websocket, session_id)
    if (
        who is None
        or lab is None
        or not allowed(who, session_id)
        or node not in (lab.nodes or {node: 0})
    ):
        await websocket.close(code=4403)
        return
    await websocket.accept()
    say = texts(websocket.cookies.get("lang") or "fr")
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
    watcher = who.role is not Role.candidate
    await serve(websocket, session_id, shell, watcher, say)


async def serve(
    websocket: WebSocket, session_id: str, stream: SharedStream, watcher: bool, say: dict[str, str]
) -> None:
    """Relay a shared stream (a shell, a serial console) to one browser until either side
    ends; examiners only watch."""
    scrollback, queue = stream.subscribe()

    async def forward() -> None:
        await websocket.send_text(json.dumps({"t": "o", "d": scrollback}))
        while (text := await queue.get()) is not None:
            await websocket.send_text(json.dumps({"t": "o", "d": text}))
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

    tasks = [asyncio.create_task(forward()), asyncio.create_task(receive())]
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


async def end(websocket: WebSocket, why: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_text(json.dumps({"t": "end", "d": why}))
        await websocket.close(code=END)
