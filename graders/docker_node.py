"""A container node as the grader reaches it: through the Docker engine, never the lab's sshd.

Commands run with `docker exec` as uid 0, with a clean environment the platform sets (no
PATH, LD_PRELOAD or shell profile of the candidate's), under a deadline and an output cap.
Files, processes and sockets are read from the host: the node's root through /proc/PID/root
(see graders.rootfs), its sockets from /proc/PID/net, the executable of a process from
/proc/PID/exe. Nothing the candidate changes inside can alter what the host sees there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import select
import socket
import struct
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import docker.errors

from graders import procfs, rootfs
from graders.contract import (
    AskedOnce,
    CommandResult,
    FileInfo,
    GraderError,
    IpProtocol,
    NodeUnreachable,
    Process,
)
from graders.integrity import MAX_HASHED, Integrity, md5_of
from graders.layers import Changes, Snapshot, UpperLayer
from labs import userns

log = logging.getLogger("praxis.grading")
CLEAN_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
    "TERM": "dumb",
}
# The command between two lines of a nonce, the second with its exit status: an output the
# engine lost in part (seen under load: a short command's whole output missing, status 0)
# is then detected and asked again, never graded as empty.
FRAME = 'printf "%s\\n" "$2"; /bin/sh -c "$1"; printf "\\n%s %s\\n" "$2" "$?"'
MAX_STDOUT = 1 << 20
MAX_STDERR = 64 << 10
KILLED = 128 + 9  # the status of a command killed by SIGKILL
ENGINE_RETRIES = 3


class DockerNode:
    """One container, for one grading: a Transport (commands inside) and a NodeView (the
    host's view). `judge` receives the integrity scan's verdict on the node's files."""

    def __init__(self, client: docker.DockerClient, container_id: str) -> None:
        self.client, self.id = client, container_id
        self._pid1: int | None = None
        self._pids: dict[int, int] | None = None  # pid in the node -> pid on the host
        self._changes: Changes | bool | None = False  # False: not asked yet
        # The integrity scan's verdict on the node's files (graders.integrity), when it ends.
        self.judge: Future[Integrity | None] = Future()
        self._asked = AskedOnce()  # checks only read: a command runs once
        self._processes: dict[int, Process | None] = {}
        self._id_maps: tuple[userns.IdMap, userns.IdMap] | None = None
        self._listeners: dict[tuple[str, int | str], list[Process]] = {}

    # -- commands inside the node ---------------------------------------------------------
    def run(self, command: str, timeout: float) -> CommandResult:
        """The same command asked twice in one grading runs once (checks only read)."""
        return self._asked(command, lambda: self._run(command, timeout))

    def _run(self, command: str, timeout: float) -> CommandResult:
        last: Exception | None = None
        for attempt in range(ENGINE_RETRIES):
            nonce = secrets.token_hex(8)
            try:
                return _unframe(
                    self._exec(["/bin/sh", "-c", FRAME, "praxis", command, nonce], timeout), nonce
                )
            except docker.errors.NotFound as exc:
                raise NodeUnreachable(f"container {self.id[:12]} is gone") from exc
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # "container ... is not running"
                    raise NodeUnreachable(f"node is not running: {exc.explanation}") from exc
                last = exc
            except (docker.errors.DockerException, OSError, StreamLost) as exc:
                last = exc
            time.sleep(0.2 * (attempt + 1))
        raise GraderError(f"engine: {last}")

    def _exec(self, argv: list[str], timeout: float) -> CommandResult:
        """Run argv: its output, and KILLED as status if it was cut (else FRAME says it)."""
        api = self.client.api
        exec_id = api.exec_create(
            self.id, argv, environment=CLEAN_ENV, user="0:0", workdir="/", stdin=False
        )["Id"]
        response, sock, early = _attach(api, exec_id)
        try:
            out, err, cut, timed_out = _read_frames(sock, early, time.monotonic() + timeout)
        finally:
            sock.close()
            response.close()
        if cut or timed_out:
            self._kill_exec(exec_id)
        if timed_out:
            raise GraderError(f"no answer within {timeout:g}s")
        return CommandResult(
            KILLED if cut else -1,  # cut at the cap: killed, whatever the engine says later
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            truncated=cut,
        )

    def _kill_exec(self, exec_id: str) -> None:
        """Kill the command and everything it started, from the host."""
        info = self.client.api.exec_inspect(exec_id)
        pid = int(info.get("Pid") or 0)
        if pid > 0 and info.get("Running"):
            victims = procfs.descendants(pid)
            log.info(
                "node %s: killing the grader's command %s and its children %s",
                self.id[:12],
                pid,
                victims,
            )
            for victim in victims:
                procfs.kill(victim)

    # -- the host's view ------------------------------------------------------------------
    def _root(self) -> str:
        return f"/proc/{self.pid1()}/root"

    def pid1(self) -> int:
        if self._pid1 is None:
            try:
                state = self.client.api.inspect_container(self.id)["State"]
            except docker.errors.NotFound as exc:
                raise NodeUnreachable(f"container {self.id[:12]} is gone") from exc
            except (docker.errors.DockerException, OSError) as exc:
                raise GraderError(f"engine: {exc}") from exc
            if not state.get("Running") or not state.get("Pid"):
                raise NodeUnreachable(f"node is {state.get('Status', 'down')}")
            self._pid1 = int(state["Pid"])
        return self._pid1

    def _ids(self) -> tuple[userns.IdMap, userns.IdMap]:
        """The node's uid and gid maps: a remapped node's root is a host user. Raises OSError."""
        if self._id_maps is None:
            self._id_maps = userns.of_node(self.pid1())
        return self._id_maps

    def changes(self) -> Changes | None:
        """What the node changed against the image, as the engine's storage driver keeps it
        (overlay2's upper layer, or btrfs's snapshot of the image's layer); None if unknown."""
        if self._changes is False:
            container = self.client.api.inspect_container(self.id)
            driver = container.get("GraphDriver") or {}
            upper = (driver.get("Data") or {}).get("UpperDir")
            self._changes = None
            if driver.get("Name") == "overlay2" and upper:
                self._changes = UpperLayer(Path(upper))
            elif driver.get("Name") == "btrfs":
                root = Path(self.client.info()["DockerRootDir"])
                layer = root / "image" / "btrfs" / "layerdb" / "mounts" / container["Id"]
                subvolumes = root / "btrfs" / "subvolumes"
                now, image = ((layer / f).read_text().strip() for f in ("mount-id", "init-id"))
                self._changes = Snapshot(subvolumes / now, subvolumes / image)
        return self._changes if isinstance(self._changes, (UpperLayer, Snapshot)) else None

    def changed(self, path: str) -> bool:
        changes = self.changes()
        return True if changes is None else changes.changed(path)  # unknown: nothing vouched for

    def read(self, path: str, limit: int) -> FileInfo | None:
        try:
            info = rootfs.read(self._root(), path, limit)
            if info is None:
                return None
            uids, gids = self._ids()  # the host sees its own ids: the node's are asked
        except OSError as exc:
            raise NodeUnreachable(f"node filesystem unavailable: {exc}") from exc
        return replace(info, uid=uids.inside(info.uid), gid=gids.inside(info.gid))

    def digest(self, path: str) -> str | None:
        judge = self.judge.result()
        if judge is not None and path in judge.digests:  # hashed once, by the integrity scan
            return judge.digests[path]
        info = self.read(path, MAX_HASHED)
        if info is None or info.content is None:
            return None
        return hashlib.md5(info.content, usedforsecurity=False).hexdigest()

    def connect(self, path: str, timeout: float) -> socket.socket:
        """As the node's root: a server that signs in its peer by uid sees root, not nobody."""
        try:
            uids, gids = self._ids()
        except OSError as exc:
            raise NodeUnreachable(f"node filesystem unavailable: {exc}") from exc
        peer = None if uids.identity else (uids.host(0), gids.host(0))
        return rootfs.connect_unix(self._root(), path, timeout, peer)

    def listeners(self, port: int | str, protocol: IpProtocol = "tcp") -> list[Process]:
        """Asked once per socket and grading: the lab is frozen, its sockets do not move."""
        key = (protocol if isinstance(port, int) else "unix", port)
        if key not in self._listeners:
            self._listeners[key] = self._listeners_of(port, protocol)
        return self._listeners[key]

    def _listeners_of(self, port: int | str, protocol: IpProtocol) -> list[Process]:
        inodes = procfs.listening_inodes(self.pid1(), port, protocol)
        owners = []
        for pid, host_pid in self.pids().items():
            if inodes & procfs.socket_inodes(host_pid):
                process = self.process(pid)
                if process is not None:
                    owners.append(process)
        return sorted(owners, key=lambda p: p.pid)

    def process(self, pid: int) -> Process | None:
        """Judged once per grading (hashing mariadbd for every SQL check would cost seconds)."""
        if pid not in self._processes:
            self._processes[pid] = self._process(pid)
        return self._processes[pid]

    def _process(self, pid: int) -> Process | None:
        host_pid = self.pids().get(pid)
        if host_pid is None:
            return None
        try:
            exe = os.readlink(f"/proc/{host_pid}/exe")
            with open(f"/proc/{host_pid}/exe", "rb") as binary:
                md5 = md5_of(binary)
        except OSError:
            return None
        judge = self.judge.result()
        if exe.endswith(" (deleted)"):
            genuine, why = False, "replaced since it started"
        elif judge is None:
            genuine, why = False, "the node's files could not be scanned"
        else:
            genuine, why = judge.genuine(exe, md5)
        return Process(pid, exe, genuine, why)

    def pids(self) -> dict[int, int]:
        """Node pid -> host pid, from the engine's process list and the host's /proc."""
        if self._pids is None:
            try:
                top = self.client.api.top(self.id, ps_args="-eo pid")
            except (docker.errors.DockerException, OSError) as exc:
                raise NodeUnreachable(f"no process list: {exc}") from exc
            pids = {}  # built whole, then published: checks ask from several threads
            for (host_pid,) in top.get("Processes") or []:
                inner = procfs.inner_pid(int(host_pid))
                if inner is not None:
                    pids[inner] = int(host_pid)
            self._pids = pids
        return self._pids


class StreamLost(GraderError):
    """The engine's stream lacks the frame's markers: part of the output was lost."""


def _unframe(result: CommandResult, nonce: str) -> CommandResult:
    """The command's own output and status, out of FRAME. Raises StreamLost."""
    if not result.stdout.startswith(nonce + "\n"):
        raise StreamLost("the engine lost the start of the command's output")
    out = result.stdout[len(nonce) + 1 :]
    if result.truncated:
        return CommandResult(result.status, out, result.stderr, truncated=True)
    head, marker, status = out.rpartition(f"\n{nonce} ")
    if not marker or not status.rstrip("\n").isdigit():
        raise StreamLost("the engine lost the end of the command's output")
    return CommandResult(int(status), head, result.stderr)


def _attach(api: Any, exec_id: str) -> tuple[Any, socket.socket, bytes]:
    """Start the command and take its stream: the response (the socket lives as long as it
    does), the socket, and what the HTTP layer already read of the stream.

    Under load the command's first output arrives with the engine's upgrade answer, and the
    HTTP parser's buffer swallows it: reading the bare socket alone lost a short output."""
    response = api._post_json(
        api._url("/exec/{0}/start", exec_id),
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        data={"Tty": False, "Detach": False},
        stream=True,
    )
    api._raise_for_status(response)
    reader = response.raw._fp.fp  # the buffered reader http.client parsed the headers with
    sock = reader.raw._sock
    sock.setblocking(False)  # peek must not wait for more than what is buffered
    early = reader.peek(1 << 16)
    reader.read(len(early))
    sock.setblocking(True)
    return response, sock, early


def _read_frames(sock: Any, early: bytes, deadline: float) -> tuple[bytes, bytes, bool, bool]:
    """Demultiplex the engine's stream until EOF, the caps or the deadline.

    Returns (stdout, stderr, cut by a cap, timed out)."""
    buffers = {1: bytearray(), 2: bytearray()}
    caps = {1: MAX_STDOUT, 2: MAX_STDERR}
    pending = bytearray(early)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buffers[1]), bytes(buffers[2]), False, True
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            continue
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(buffers[1]), bytes(buffers[2]), False, False
        pending += chunk
        while len(pending) >= 8:
            stream, size = struct.unpack(">BxxxL", pending[:8])
            if len(pending) < 8 + size:
                break
            data, pending = pending[8 : 8 + size], pending[8 + size :]
            target = buffers.get(stream)
            if target is None:
                continue
            target += data
            if len(target) > caps[stream]:
                del target[caps[stream] :]
                return bytes(buffers[1]), bytes(buffers[2]), True, False
