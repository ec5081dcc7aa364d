"""HTTP as the grader sees it: from outside the node, over the lab network."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass

from graders.contract import CheckContext

TIMEOUT = 5.0  # per socket operation
DEADLINE = 10.0  # the whole exchange: a server that trickles bytes is cut here
MAX_BODY = 1 << 20


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: str


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    cut: bool  # the body went past the limit asked and was read no further


def http_get(ctx: CheckContext, node: str, port: int, path: str, host: str | None) -> Reply | None:
    """GET `path` from `node`, recorded as evidence; None when nothing answers in time."""
    reply = http_request(ctx, node, port, "GET", path, host=host)
    if reply is None:
        return None
    return Reply(reply.status, reply.headers, reply.body.decode("utf-8", "replace"))


def http_request(
    ctx: CheckContext,
    node: str,
    port: int,
    method: str,
    path: str,
    host: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    limit: int = MAX_BODY,
    shown: str | None = None,
    deadline: float = DEADLINE,
) -> RawReply | None:
    """One request to `node`, recorded as evidence (`shown` stands for the request body there:
    a password it holds, a document too long to keep); None when nothing answers in time."""
    address = ctx.address(node)
    what = f"{method} http://{host or address}:{port}{path} (from the grader to {address})"
    if body is not None:
        what += f" with {shown or f'{len(body)} bytes'}"
    start = time.monotonic()
    connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
    watchdog = threading.Timer(deadline, _cut, [connection])
    watchdog.start()
    sent = {"Host": host or address, "User-Agent": "praxis-grader", **(headers or {})}
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        content = response.read(limit + 1)
        received = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        late = time.monotonic() - start >= deadline
        reason = f"no full answer within {deadline:g}s" if late else exc or type(exc).__name__
        ctx.record(node, what, None, f"no answer: {reason}", start, "outside")
        return None
    finally:
        watchdog.cancel()
        connection.close()
    reply = RawReply(response.status, received, content[:limit], len(content) > limit)
    head = "\n".join(f"{k}: {v}" for k, v in received.items())
    ctx.record(node, what, response.status, f"{head}\n\n{_shown(reply)}", start, "outside")
    return reply


def _shown(reply: RawReply) -> str:
    """A text body as it came; a binary one (a PDF, an image) by its size and first bytes."""
    kind = reply.headers.get("content-type", "")
    if not kind.startswith(("application/pdf", "image/")):
        with contextlib.suppress(UnicodeDecodeError):
            return reply.body.decode("utf-8")
    more = ", cut at the grader's limit" if reply.cut else ""
    return f"[{len(reply.body)} bytes of {kind or 'unknown type'}{more}: {reply.body[:8]!r}...]"


def _cut(connection: http.client.HTTPConnection) -> None:
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
