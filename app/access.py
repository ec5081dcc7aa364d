"""Candidate access: a TCP forwarder per node, owned by the platform.

Candidates never get a node's address, only a port here. Closing the forwarder cuts them
out at the network level, whatever they changed inside their lab (accounts, keys, sshd).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

log = logging.getLogger("praxis.access")


class Forwarder:
    def __init__(
        self, listen_host: str, listen_port: int, target_host: str, target_port: int
    ) -> None:
        self.listen = (listen_host, listen_port)
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, *self.listen, reuse_address=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, TimeoutError):
            writer.close()
            self._links.discard(task)
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()
            self._links.discard(task)

    async def close(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._links):
            task.cancel()
        for task in list(self._links):
            with contextlib.suppress(BaseException):
                await task
        self._links.clear()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class AccessPorts:
    """The candidates' doors: a port on the platform per node of every running session, each
    forwarded to the node's sshd. The controller opens them when a lab is ready and closes them
    at the end; the node watch closes and reopens one node's when it dies and comes back."""

    def __init__(self, host: str, ports: range) -> None:
        self.host, self.ports = host, ports
        self.open_doors: dict[str, dict[str, Forwarder]] = {}  # session -> node -> forwarder

    def assign(self, rows: dict[str, dict[str, Any]], taken: set[int]) -> None:
        """Give each node row a free `port` (None when the range is full)."""
        free = (p for p in self.ports if p not in taken and port_is_free(self.host, p))
        for row in rows.values():
            row["port"] = next(free, None)

    async def open(self, session_id: str, nodes: dict[str, dict[str, Any]]) -> None:
        for node, row in nodes.items():
            await self.open_node(session_id, node, row)

    async def open_node(self, session_id: str, node: str, row: dict[str, Any]) -> None:
        """Forward the node's port to its (current) address; a failure is logged, not raised:
        the candidate still has the browser terminal."""
        await self.close_node(session_id, node)
        if row.get("port") is None:
            return
        forwarder = Forwarder(self.host, row["port"], row["address"], 22)
        try:
            await forwarder.start()
        except OSError as exc:
            log.error("session %s: access port %s for %s: %s", session_id, row["port"], node, exc)
            return
        self.open_doors.setdefault(session_id, {})[node] = forwarder

    async def close_node(self, session_id: str, node: str) -> None:
        forwarder = self.open_doors.get(session_id, {}).pop(node, None)
        if forwarder is not None:
            await forwarder.close()

    async def close(self, session_id: str) -> None:
        """Stop listening and cut every connection of the session; idempotent."""
        for forwarder in self.open_doors.pop(session_id, {}).values():
            await forwarder.close()

    async def close_all(self) -> None:
        for session_id in list(self.open_doors):
            await self.close(session_id)
