"""SSH transport: one paramiko connection per node, shared by every check, with timeouts."""

from __future__ import annotations

import io
import socket
import threading
import time

import paramiko

from graders.contract import CommandResult, NodeUnreachable

CONNECT_TIMEOUT = 5.0
# A node coming up may take far longer than CONNECT_TIMEOUT to answer a login it accepted: sshd
# in a TCG guest on a busy host. Abandoned, each try left the guest more work (seen: a VM never
# ready in 180 s); so a readiness wait gives each try this long once the port answers.
LOGIN_PATIENCE = 60.0
MAX_CHANNELS = 4
CHANNEL_RETRIES = 3


def load_key(private_key: str) -> paramiko.PKey:
    return paramiko.Ed25519Key.from_private_key(io.StringIO(private_key))


class SSHTransport:
    """Runs commands as `user` on one node. Connects on first use; thread-safe."""

    def __init__(
        self,
        host: str,
        key: paramiko.PKey,
        user: str = "root",
        port: int = 22,
        patience: float = CONNECT_TIMEOUT,  # for sshd's banner and for the login, once connected
    ) -> None:
        self.host, self.port, self.user, self.key = host, port, user, key
        self.patience = patience
        self._client: paramiko.SSHClient | None = None
        self._failure: str | None = None  # a node that refused once is not retried per check
        self._lock = threading.Lock()
        # sshd allows 10 sessions per connection (MaxSessions); stay well below.
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS)

    def _connect(self) -> paramiko.SSHClient:
        with self._lock:
            if self._failure is not None:
                raise NodeUnreachable(self._failure)
            if self._client is not None:
                transport = self._client.get_transport()
                if transport is not None and transport.is_active():
                    return self._client
            client = paramiko.SSHClient()
            # Host keys are generated per container at boot, on a network only the host reaches.
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            try:
                # The port within CONNECT_TIMEOUT; the handshake and login within `patience`.
                sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
                client.connect(
                    self.host,
                    self.port,
                    self.user,
                    pkey=self.key,
                    sock=sock,
                    timeout=self.patience,
                    banner_timeout=self.patience,
                    auth_timeout=self.patience,
                    allow_agent=False,
                    look_for_keys=False,
                )
            except (OSError, paramiko.SSHException) as exc:
                client.close()
                self._failure = (
                    f"ssh {self.user}@{self.host}:{self.port}: {exc or type(exc).__name__}"
                )
                raise NodeUnreachable(self._failure) from exc
            self._client = client
            return client

    def run(self, command: str, timeout: float, stdin: str | None = None) -> CommandResult:
        client = self._connect()
        result = CommandResult(-1, "", "no exit status")
        for attempt in range(CHANNEL_RETRIES):
            try:
                with self._channels:
                    result = _exec(client, command, timeout, stdin)
            except TimeoutError:
                return CommandResult(124, "", f"timed out after {timeout:g}s")
            except (OSError, paramiko.SSHException) as exc:
                if not _channel_refused(exc):
                    raise NodeUnreachable(f"ssh {self.host}: {exc or type(exc).__name__}") from exc
                if attempt == CHANNEL_RETRIES - 1:  # busy sshd: ask again, then give up
                    raise NodeUnreachable(f"ssh {self.host}: channel refused ({exc})") from exc
            else:
                # -1: the channel closed before sshd's exit status arrived (seen under load);
                # checks only read, so asking again is safe and keeps grades reproducible.
                if result.status != -1 or stdin is not None:
                    return result
            time.sleep(0.1 * (attempt + 1))
        return result

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _channel_refused(exc: Exception) -> bool:
    """A session channel could not be opened on a live connection (seen under load): paramiko
    says so with ChannelException, or with a plain SSHException of this message."""
    return isinstance(exc, paramiko.ChannelException) or str(exc) == "Unable to open channel."


def _exec(
    client: paramiko.SSHClient, command: str, timeout: float, stdin: str | None
) -> CommandResult:
    channel_in, stdout, stderr = client.exec_command(command, timeout=timeout)
    if stdin is not None:
        channel_in.write(stdin)
        channel_in.channel.shutdown_write()
    out = stdout.read().decode("utf-8", "replace")
    err = stderr.read().decode("utf-8", "replace")
    return CommandResult(stdout.channel.recv_exit_status(), out, err)


def wait_ready(
    host: str,
    key: paramiko.PKey,
    timeout: float,
    user: str = "root",
    probe: str = "exit 0",
    port: int = 22,
) -> float:
    """Poll until `user` logs in with `key` and `probe` succeeds. Returns seconds waited.

    Raises NodeUnreachable with the last reason when `timeout` passes.
    """
    start = time.monotonic()
    last = "no answer yet"
    while (left := timeout - (time.monotonic() - start)) > 0:
        patience = max(CONNECT_TIMEOUT, min(LOGIN_PATIENCE, left))
        transport = SSHTransport(host, key, user, port, patience)
        try:
            if transport.run(probe, timeout=patience).ok:  # `exit 0`: sh, cmd and PowerShell
                return time.monotonic() - start
        except NodeUnreachable as exc:  # refused while sshd starts: cheap to ask again
            last = str(exc)
        finally:
            transport.close()
        time.sleep(0.01)
    raise NodeUnreachable(f"{host}: not ready after {timeout:g}s ({last})")
