"""HTTP as the grader sees it: from outside the node, over the lab network."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

from graders.contract import CheckContext

TIMEOUT = 5.0
MAX_BODY = 1 << 20


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: str


def http_get(ctx: CheckContext, node: str, port: int, path: str, host: str | None) -> Reply | None:
    """GET `path` from `node`, recorded as evidence; None when nothing answers."""
    address = ctx.address(node)
    what = f"GET http://{host or address}:{port}{path} (from grader to {address})"
    start = time.monotonic()
    connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
    try:
        connection.request(
            "GET", path, headers={"Host": host or address, "User-Agent": "praxis-grader"}
        )
        response = connection.getresponse()
        body = response.read(MAX_BODY).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        ctx.record(node, what, None, f"no answer: {exc or type(exc).__name__}", start)
        return None
    finally:
        connection.close()
    head = "\n".join(f"{k}: {v}" for k, v in headers.items())
    ctx.record(node, what, response.status, f"{head}\n\n{body}", start)
    return Reply(response.status, headers, body)
