"""A VM node as the grader reaches it: its frozen disk from the host, commands over SSH.

Files, and whether the candidate changed the system's programs, are read from the disk as it
was at the cut-off (graders.vm_disk), never through the VM. What only the running system
knows (services, sockets, libvirt's live state) is asked over SSH as root with the grader's
key, in a clean environment (no PATH, alias or profile of the candidate's), under a deadline
and an output cap; those answers are believed only if the integrity scan of the frozen disk
found the programs as Debian ships them (CheckContext.untrusted).
"""

from __future__ import annotations

import errno
import hashlib
import json
import shlex
import socket
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import libvirt
import paramiko

from graders.contract import (
    AskedOnce,
    CommandResult,
    FileInfo,
    GraderError,
    IpProtocol,
    NodeUnreachable,
    Process,
)
from graders.integrity import MAX_HASHED, Integrity
from graders.transport import CONNECT_TIMEOUT, MAX_CHANNELS
from graders.vm_disk import Ext4Image, FrozenDisk, Written, raw_copy

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # answered here, not printed
MAX_STDOUT = 1 << 20
MAX_STDERR = 64 << 10
CHANNEL_ATTEMPTS = 3
BOOT_WAIT = 120.0  # after the cut-off's reboot, services may still be starting
EOF_GRACE = 5.0  # seconds for the output's end after the exit status (see _collect)
CLEAN = "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME=/root"


class VMNode:
    """One VM, for one grading: a Transport (SSH) and a NodeView (its frozen disk)."""

    def __init__(
        self,
        address: str,
        key: paramiko.PKey,
        frozen: Path,
        domain: str,
        libvirt_url: str,
        windows: bool = False,
    ) -> None:
        self.address, self.key, self.frozen = address, key, frozen
        # Windows: sshd's shell takes the command as it is (graders.windows encodes its own).
        self.windows = windows
        self.domain, self.libvirt_url = domain, libvirt_url  # the host's word on its state
        self.judge: Future[Integrity | None] = Future()
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self._disk: FrozenDisk | None = None
        self._booted = False
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS)
        # Checks only read: a command runs once per grading (a TCG guest answers a `virsh` in
        # seconds, and every libvirt criterion asks the same lists and summaries).
        self._asked = AskedOnce()

    # -- the frozen disk ------------------------------------------------------------------
    def disk(self) -> FrozenDisk:
        with self._lock:
            if self._disk is None:
                if not self.frozen.name or not self.frozen.is_file():
                    raise NodeUnreachable(
                        "no view of the VM's disk: it was down at the cut-off, or its system "
                        "is not one the host reads (an imported image)"
                    )
                base = _backing(self.frozen)
                image = Ext4Image(raw_copy(self.frozen, self.frozen.with_suffix(".raw")))
                self._disk = FrozenDisk(
                    image,
                    Ext4Image(raw_copy(base, base.with_suffix(".raw"))),
                    Written.of(self.frozen, image.block_size),
                )
            return self._disk

    def read(self, path: str, limit: int) -> FileInfo | None:
        try:
            return self.disk().read(path, limit)
        except OSError as exc:
            raise NodeUnreachable(f"the VM's disk: {exc}") from exc

    def changed(self, path: str) -> bool:
        return self.disk().changed(path)

    def digest(self, path: str) -> str | None:
        judge = self.judge.result()
        if judge is not None and path in judge.digests:
            return judge.digests[path]
        info = self.read(path, MAX_HASHED)
        if info is None or info.content is None:
            return None
        return hashlib.md5(info.content, usedforsecurity=False).hexdigest()

    def connect(self, path: str, timeout: float) -> socket.socket:
        raise OSError(f"a VM's unix socket {path} is not reachable from the host")

    def entries(self, folder: str) -> set[str]:
        """The names in `folder` at the cut-off and in the base image: `changed(folder)` sees
        names added or removed, not a file in it rewritten (graders.ssh_login asks each)."""
        disk = self.disk()
        now = disk.frozen.listings([folder])[folder]
        return set(now) | set(disk.base.listings([folder])[folder])

    # -- the running system, over SSH -------------------------------------------------------
    def listeners(self, port: int | str, protocol: IpProtocol = "tcp") -> list[Process]:
        """Processes holding a listening TCP port or a bound, unconnected UDP port, from the
        VM's kernel (`ss`, verified by the integrity scan like every command)."""
        if not isinstance(port, int):
            return []
        result = self.run(f"ss -Hl{protocol[0]}np 'sport = :{port}'", 10)
        pids = sorted({int(p) for p in _pids_in(result.stdout)})
        found = [self.process(pid) for pid in pids]
        return [p for p in found if p is not None]

    def process(self, pid: int) -> Process | None:
        result = self.run(f"readlink /proc/{pid}/exe && md5sum < /proc/{pid}/exe", 15)
        lines = result.stdout.split()
        if not result.ok or len(lines) < 2:
            return None
        exe, md5 = lines[0], lines[1]
        judge = self.judge.result()
        if judge is None:
            return Process(pid, exe, False, "the VM's disk could not be scanned")
        genuine, why = judge.genuine(exe, md5)
        return Process(pid, exe, genuine, why)

    def run(self, command: str, timeout: float) -> CommandResult:
        self.wait_booted()
        return self._asked(command, lambda: self._run(command, timeout))

    def wait_booted(self) -> None:
        """Once: until systemd says the boot is over, at most BOOT_WAIT seconds (then the
        node is graded as it is)."""
        if not self._booted:
            try:
                command = "exit 0" if self.windows else "systemctl is-system-running --wait"
                self._run(command, BOOT_WAIT)
            finally:
                self._booted = True  # waited once: a node still booting is graded as it is

    def running(self) -> bool:
        """Does libvirt say the VM runs? (Asked when SSH gives no answer: a VM that is down
        is a fact of the lab, a time-out on a running one is not.)"""
        try:
            conn = libvirt.open(self.libvirt_url)
        except libvirt.libvirtError:
            return True  # no word from the host: not a fact against the candidate
        try:
            return bool(conn.lookupByUUIDString(self.domain).isActive())
        except libvirt.libvirtError:
            return False  # the domain is gone
        finally:
            conn.close()

    def _connect(self) -> paramiko.SSHClient:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if self._client is not None and transport is not None and transport.is_active():
                return self._client
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            for attempt in range(3):
                try:
                    client.connect(
                        self.address,
                        22,
                        "root",
                        pkey=self.key,
                        timeout=CONNECT_TIMEOUT,
                        banner_timeout=CONNECT_TIMEOUT,
                        auth_timeout=CONNECT_TIMEOUT,
                        allow_agent=False,
                        look_for_keys=False,
                    )
                    break
                except paramiko.AuthenticationException as exc:  # the key was removed in it
                    raise NodeUnreachable(f"ssh root@{self.address}: {exc}") from exc
                except (OSError, paramiko.SSHException) as exc:
                    if attempt < 2:
                        time.sleep(1 + attempt)
                        continue
                    why = f"ssh root@{self.address}: {exc or type(exc).__name__}"
                    if _refused(exc) or not self.running():  # sshd stopped, network broken
                        raise NodeUnreachable(why) from exc
                    raise GraderError(why) from exc  # a time-out on a busy host: ask again
            self._client = client
            return client

    def _run(self, command: str, timeout: float) -> CommandResult:
        client = self._connect()
        transport = client.get_transport()
        if transport is None:
            raise GraderError(f"ssh {self.address}: the connection closed")
        clean = command if self.windows else f"{CLEAN} /bin/sh -c {shlex.quote(command)}"
        with self._channels:  # sshd opens 10 sessions per connection (MaxSessions)
            for attempt in range(CHANNEL_ATTEMPTS):
                try:
                    channel = transport.open_session(timeout=CONNECT_TIMEOUT)
                    channel.exec_command(clean)
                    break
                except (OSError, paramiko.SSHException) as exc:  # refused while busy
                    if attempt == CHANNEL_ATTEMPTS - 1:
                        raise GraderError(f"ssh {self.address}: {exc}") from exc
                    time.sleep(0.2 * (attempt + 1))
            try:
                return _collect(channel, time.monotonic() + timeout, timeout)
            finally:
                channel.close()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()


def _collect(channel: paramiko.Channel, deadline: float, timeout: float) -> CommandResult:
    """Output up to the caps (then the command is cut: KILLED), within the deadline."""
    out, err = bytearray(), bytearray()
    exited: float | None = None
    channel.settimeout(0.2)
    while True:
        if time.monotonic() > deadline:
            raise GraderError(f"no answer within {timeout:g}s")
        if channel.recv_ready():
            out += channel.recv(65536)
        if channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        if len(out) > MAX_STDOUT or len(err) > MAX_STDERR:
            return CommandResult(
                137,
                out[:MAX_STDOUT].decode("utf-8", "replace"),
                err[:MAX_STDERR].decode("utf-8", "replace"),
                truncated=True,
            )
        pending = channel.recv_ready() or channel.recv_stderr_ready()
        if channel.exit_status_ready() and not pending:
            # sshd may send the exit status before the output's last bytes (seen under load:
            # a check's one line lost): the output is whole at its end of file, or soon after
            # the exit when a child the command left behind holds it open.
            exited = exited or time.monotonic()
            if channel.eof_received or channel.closed or time.monotonic() - exited > EOF_GRACE:
                break
        time.sleep(0.005)
    status = channel.recv_exit_status()
    return CommandResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def _refused(exc: Exception) -> bool:
    """Connection refused or no route: the VM answers that nothing is there."""
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return all(isinstance(e, ConnectionRefusedError) for e in exc.errors.values())
    return isinstance(exc, ConnectionRefusedError | OSError) and getattr(exc, "errno", None) in (
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
    )


def _pids_in(ss_output: str) -> list[str]:
    """pid=N fields of `ss -p` lines: users:(("nginx",pid=12,fd=6),...)."""
    return [part[4:] for part in ss_output.replace(")", ",").split(",") if part.startswith("pid=")]


def _backing(layer: Path) -> Path:
    done = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(layer)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        backing = json.loads(done.stdout).get("full-backing-filename") or ""
    except ValueError:
        backing = ""
    if not backing:
        raise GraderError(f"{layer.name}: no base image under the frozen layer")
    return Path(backing)
