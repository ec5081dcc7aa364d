"""SQL from the host: the grader speaks to the node's MariaDB/MySQL socket itself.

No `mysql` client of the node's is run, so none can be faked; the socket is reached from the
host without following any link the node could swap in (graders.rootfs.connect_unix), and who
holds it can be checked first (`served_by`). Rows come back as the client's --batch output
(tab-separated, NULL as NULL), so patterns written for it keep working.
"""

from __future__ import annotations

import time

import pymysql

from graders.contract import CheckContext, CommandResult, NodeUnreachable

TIMEOUT = 10.0
MAX_ROWS = 10_000
MAX_BYTES = 1 << 20


def run_sql(
    ctx: CheckContext,
    node: str,
    query: str,
    socket: str,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
) -> CommandResult:
    """Run `query` on the node's server as `user` (root by its socket when None); recorded as
    evidence, the password never shown. A refused login or query is a result (status 1)."""
    start = time.monotonic()
    who = user or "root"
    what = f"SQL as {who} via {socket}" + (f" on {database}" if database else "") + f": {query}"
    try:
        result = _query(ctx, node, query, socket, user, password, database)
    except NodeUnreachable as exc:
        ctx.record(node, what, None, str(exc), start, "host")
        raise
    ctx.record(node, what, result.status, result.stdout + result.stderr, start, "host")
    return result


def _query(
    ctx: CheckContext,
    node: str,
    query: str,
    socket: str,
    user: str | None,
    password: str | None,
    database: str | None,
) -> CommandResult:
    try:
        sock = ctx.view(node).connect(socket, TIMEOUT)
    except OSError as exc:
        return CommandResult(1, "", f"cannot connect to {socket}: {exc.strerror or exc}")
    connection = pymysql.Connection(
        user=user or "root",
        password=password or "",
        database=database,
        charset="utf8mb4",
        defer_connect=True,
        read_timeout=TIMEOUT,
        write_timeout=TIMEOUT,
    )
    try:
        connection.connect(sock)
        with connection.cursor() as cursor:
            cursor.execute(query)
            rows = cursor.fetchmany(MAX_ROWS)
    except pymysql.MySQLError as exc:
        return CommandResult(1, "", f"ERROR {' '.join(str(a) for a in exc.args) or exc}")
    except OSError as exc:
        return CommandResult(1, "", f"connection lost: {exc}")
    finally:
        sock.close()  # the connection's own socket: closing it ends the session either way
    text = "".join("\t".join(_cell(v) for v in row) + "\n" for row in rows)
    cut = len(text.encode()) > MAX_BYTES
    return CommandResult(0, text[:MAX_BYTES], truncated=cut)


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
