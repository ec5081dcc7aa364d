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


def http_get(ctx: CheckContext, node: str, port: int, path: str, host: str | None) -> Reply | None:
    """GET `path` from `node`, recorded as evidence; None when nothing answers in time."""
    address = ctx.address(node)
    what = f"GET http://{host or address}:{port}{path} (from the grader to {address})"
    start = time.monotonic()
    connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
    watchdog = threading.Timer(DEADLINE, _cut, [connection])
    watchdog.start()
    try:
        connection.request(
            "GET", path, headers={"Host": host or address, "User-Agent": "praxis-grader"}
        )
        response = connection.getresponse()
        body = response.read(MAX_BODY).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        late = time.monotonic() - start >= DEADLINE
        reason = f"no full answer within {DEADLINE:g}s" if late else exc or type(exc).__name__
        ctx.record(node, what, None, f"no answer: {reason}", start, "outside")
        return None
    finally:
        watchdog.cancel()
        connection.close()
    head = "\n".join(f"{k}: {v}" for k, v in headers.items())
    ctx.record(node, what, response.status, f"{head}\n\n{body}", start, "outside")
    return Reply(response.status, headers, body)


def _cut(connection: http.client.HTTPConnection) -> None:
    if connection.sock is not None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
