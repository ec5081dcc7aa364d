"""What every browser WebSocket (terminal, serial console, screen) passes before it is served:
its Origin (another site's page must not use the candidate's or an examiner's cookie), and a
seat among the few one machine of a session may have open at once (each holds a relay and a
queue in the service).

Close codes, for the browser: NOT_YOURS do not retry; TOO_MANY retry later (a tab may close);
TOO_SLOW reconnect at once (the browser fell too far behind; the scroll-back catches it up).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from app.config import Settings

NOT_YOURS, TOO_MANY, TOO_SLOW = 4403, 4429, 4001
FOREIGN = "origin not allowed"


def same_origin(websocket: WebSocket) -> bool:
    """Whether the socket comes from the service's own pages: a browser's Origin is the host
    it asked (Host) or a configured public origin. No Origin: no browser, nothing to forge."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    settings: Settings = websocket.app.state.settings
    if origin in settings.public_origin_set:
        return True
    parts = urlsplit(origin)
    host = websocket.headers.get("host", "").lower()
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code and a reason the browser sees (accepted first: a handshake refused
    before has neither). A reason is at most 123 bytes."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        if websocket.client_state is WebSocketState.CONNECTING:
            await websocket.accept()
        await websocket.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))


class Seats:
    """Open sockets by (session, node, channel), the candidate's and the examiners' apart."""

    def __init__(self, candidate: int, watchers: int) -> None:
        self.limits = {False: candidate, True: watchers}
        self.taken: Counter[tuple[str, str, str, bool]] = Counter()

    @contextlib.contextmanager
    def hold(self, session_id: str, node: str, channel: str, watcher: bool) -> Iterator[bool]:
        """A seat for as long as inside (True), or False when all are taken."""
        key = (session_id, node, channel, watcher)
        if self.taken[key] >= self.limits[watcher]:
            yield False
            return
        self.taken[key] += 1
        try:
            yield True
        finally:
            self.taken[key] -= 1
            if not self.taken[key]:
                del self.taken[key]


@contextlib.asynccontextmanager
async def seat(
    websocket: WebSocket, session_id: str, node: str, channel: str, watcher: bool, why: str
) -> AsyncIterator[bool]:
    """Seats.hold for this socket; refused (TOO_MANY, `why`) when all are taken."""
    seats: Seats = websocket.app.state.seats
    with seats.hold(session_id, node, channel, watcher) as held:
        if not held:
            await refuse(websocket, TOO_MANY, why)
        yield held
