"""A node the grader reaches with netmiko, over the management network (`Node.device_type`).

Network gear is reached the way its operators reach it: an interactive SSH session
(netmiko). For a Linux node (`linux`) each command is typed into root's shell as
`env -i PATH=... LANG=C.UTF-8 /bin/sh -c FRAME ...`: the frame runs the command with no input,
caps its output on the node, base64-encodes it (a terminal rewrites line ends and control
characters; the candidate's text, an interface alias say, cannot fake the frame) and prints
it between markers that carry a nonce, split in the typed line so that its echo never shows
them whole. Root's shell reads files the candidate controls: what such a login may run is
judged from the host beforehand (graders.ssh_login), and the node's answers are not believed
otherwise. Other device types get the command as given (real network gear).
"""

from __future__ import annotations

import base64
import binascii
import errno
import logging
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import paramiko

from graders.contract import AskedOnce, CommandResult, GraderError, NodeUnreachable

log = logging.getLogger("praxis.grading")
LINUX = "linux"
CLEAN = "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /bin/sh -c"
MAX_STDOUT = 1 << 20
MAX_STDERR = 64 << 10
KILLED = 128 + 9  # cut at the cap, as graders.docker_node says it
CONNECT_TIMEOUT = 5.0
CONNECT_ATTEMPTS = 3
RUN_ATTEMPTS = 2  # a session lost mid-command: connect again and ask again (checks only read)
READY_TIMEOUT = 15.0  # from the login to the shell's first answer
LINE_LIMIT = 4000  # a terminal in canonical mode (sh as root's shell) keeps 4095 bytes a line
# $1 the command, $2 the nonce, $3 "b64" when $1 is base64 (a command with control
# characters: a tab typed into readline would complete, not insert). stdout plus the status
# go through `head` and base64 to the terminal; stderr, capped, the same way after it.
FRAME = (
    'c=$1; [ "$3" = b64 ] && c=$(printf %s "$1" | base64 -d); exec 3>&1; '
    'e=$( { o=$( { /bin/sh -c "$c"; printf \'\\n%s\' "$?"; } </dev/null 2>&4 '
    f"| head -c {MAX_STDOUT + 16} | base64 -w0 ); "
    'printf \'%s-out-%s %s\\n\' praxis "$2" "$o" >&3; } 4>&1 '
    f"| head -c {MAX_STDERR + 1} | base64 -w0 ); "
    'printf \'%s-err-%s %s\\n\' praxis "$2" "$e"'
)
_B64 = r"[A-Za-z0-9+/=]*"


class Session(Protocol):
    """What the transport uses of a netmiko connection (a fake one in unit tests)."""

    def establish_connection(self, width: int = ..., height: int = ...) -> None: ...
    def write_channel(self, out_data: str) -> None: ...
    def read_until_pattern(self, pattern: str = ..., read_timeout: float = ...) -> str: ...
    def send_command(self, command_string: str, *, read_timeout: float = ...) -> Any: ...
    def disconnect(self) -> None: ...


Connect = Callable[..., Session]


def _netmiko() -> Any:
    """netmiko, imported when a node needs it (it loads every vendor's driver: the service
    need not; the grading fork server preloads it)."""
    import netmiko
    import netmiko.exceptions

    return netmiko


class NetmikoNode:
    """Transport to one node through one netmiko session, shared by every check (commands
    are serialized on it). `running` is the host's word on the node when SSH fails: a node
    that is down is a fact of the lab (NodeUnreachable), a time-out on a running one is the
    grader's own trouble (GraderError). `boot_wait`: a VM restarted at the cut-off is asked
    first to finish its boot, at most that many seconds."""

    def __init__(
        self,
        device_type: str,
        host: str,
        key: paramiko.PKey,
        running: Callable[[], bool],
        boot_wait: float = 0.0,
        connect: Connect | None = None,  # netmiko's ConnectHandler; a fake one in tests
    ) -> None:
        self.device_type, self.host, self.key = device_type, host, key
        self.running, self.boot_wait, self._connect_with = running, boot_wait, connect
        self._session: Session | None = None
        self._failure: Exception | None = None  # a login that failed is not tried per check
        self._lock = threading.Lock()
        self._booted = boot_wait <= 0
        self._asked = AskedOnce()  # checks only read: a command runs once

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run `command` as root; asked twice in one grading, it runs once. Raises
        NodeUnreachable, GraderError."""
        return self._asked(command, lambda: self._run(command, timeout))

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- one command, on the shared session ------------------------------------------------
    def _run(self, command: str, timeout: float) -> CommandResult:
        with self._lock:
            if not self._booted:
                try:  # whatever it says, or if it says nothing: the node is graded as it is
                    self._ask("systemctl is-system-running --wait", self.boot_wait)
                except GraderError as exc:
                    log.info("%s: boot not over after %gs: %s", self.host, self.boot_wait, exc)
                self._booted = True
            return self._ask(command, timeout)

    def _ask(self, command: str, timeout: float) -> CommandResult:
        lost = (
            OSError,
            EOFError,
            paramiko.SSHException,
            _netmiko().exceptions.NetmikoBaseException,
        )
        for attempt in range(RUN_ATTEMPTS):
            session = self._open()
            try:
                if self.device_type == LINUX:
                    return _framed(session, command, timeout)
                return _as_given(session, command, timeout)
            except _NoAnswer as exc:  # the shell is still busy with it: start afresh
                self._drop()
                self._raise_down(str(exc))
                raise GraderError(f"{self.host}: no answer within {timeout:g}s") from exc
            except (*lost, Garbled) as exc:
                self._drop()  # the session was lost
                if attempt == RUN_ATTEMPTS - 1:
                    self._raise_down(str(exc))
                    raise GraderError(f"{self.host}: {exc or type(exc).__name__}") from exc
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _raise_down(self, why: str) -> None:
        if not self.running():
            raise NodeUnreachable(f"{self.host}: the node is down ({why})")

    # -- the session -----------------------------------------------------------------------
    def _open(self) -> Session:
        if self._session is not None:
            return self._session
        if self._failure is not None:
            raise self._failure
        try:
            self._session = self._login_with_retries()
        except (NodeUnreachable, GraderError) as exc:
            self._failure = exc
            raise
        return self._session

    def _login_with_retries(self) -> Session:
        errors = _netmiko().exceptions
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return self._login()
            except errors.NetmikoAuthenticationException as exc:  # the key was removed in it
                raise NodeUnreachable(f"ssh root@{self.host}: authentication refused") from exc
            except errors.ReadTimeout as exc:  # logged in, but root's shell runs nothing
                raise GraderError(
                    f"ssh root@{self.host}: root's shell did not answer within {READY_TIMEOUT:g}s"
                ) from exc
            except (OSError, EOFError, paramiko.SSHException, errors.NetmikoBaseException) as exc:
                why = f"ssh root@{self.host}: {_reason(exc)}"
                if attempt < CONNECT_ATTEMPTS - 1:
                    time.sleep(1 + attempt)
                    continue
                if _refused(exc) or not self.running():  # sshd stopped, network broken
                    raise NodeUnreachable(why) from exc
                raise GraderError(why) from exc  # a time-out on a busy host: ask again
        raise AssertionError("unreachable")

    def _login(self) -> Session:
        params: dict[str, Any] = {
            "device_type": self.device_type,
            "host": self.host,
            "username": "root",
            "pkey": self.key,  # from memory: the session's key never touches a disk
            "use_keys": False,  # and no other key of the service's is offered
            "allow_agent": False,
            "conn_timeout": CONNECT_TIMEOUT,
            "auth_timeout": CONNECT_TIMEOUT,
            "banner_timeout": CONNECT_TIMEOUT,
            "fast_cli": True,
        }
        connect = self._connect_with or _netmiko().ConnectHandler
        if self.device_type != LINUX:
            return connect(**params)
        # Linux: no prompt guessing (root's prompt is the candidate's hostname); the shell
        # is ready when it has run a first line, which also keeps grader lines out of
        # root's history file.
        session: Session = connect(**params, auto_connect=False)
        try:
            session.establish_connection()
            nonce = secrets.token_hex(8)
            session.write_channel(f"unset HISTFILE; printf '%s-ready-%s\\n' praxis {nonce}\n")
            session.read_until_pattern(f"praxis-ready-{nonce}", read_timeout=READY_TIMEOUT)
        except BaseException:
            _quietly_close(session)
            raise
        return session

    def _drop(self) -> None:
        if self._session is not None:
            _quietly_close(self._session)
            self._session = None


class _NoAnswer(Exception):
    """The command did not end within its time: the session is busy with it."""


class Garbled(GraderError):
    """The frame's markers or content did not come back whole: asked again."""


def _framed(session: Session, command: str, timeout: float) -> CommandResult:
    nonce = secrets.token_hex(8)
    encoded = any(ord(c) < 32 or ord(c) == 127 for c in command)
    payload = base64.b64encode(command.encode()).decode() if encoded else command
    line = " ".join(
        [CLEAN, shlex.quote(FRAME), "praxis", shlex.quote(payload), nonce, "b64" if encoded else ""]
    )
    if len(line) > LINE_LIMIT:
        raise GraderError(f"command too long for a terminal ({len(line)} bytes)")
    session.write_channel(line.rstrip() + "\n")
    end = re.escape(f"praxis-err-{nonce} ") + _B64 + r"\r?\n"
    try:
        output = session.read_until_pattern(end, read_timeout=timeout)
    except _netmiko().exceptions.ReadTimeout as exc:
        raise _NoAnswer(str(exc)) from exc
    return unframe(output, nonce)


def unframe(output: str, nonce: str) -> CommandResult:
    """The command's result from what the terminal showed. Raises Garbled when the
    markers or their content are not as the frame prints them."""
    out = re.search(re.escape(f"praxis-out-{nonce} ") + f"({_B64})\r?\n", output)
    err = re.search(re.escape(f"praxis-err-{nonce} ") + f"({_B64})\r?\n", output)
    if out is None or err is None:
        raise Garbled("the node's terminal lost part of the command's output")
    try:
        stdout = base64.b64decode(out[1], validate=True)
        stderr = base64.b64decode(err[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Garbled(f"the node's terminal garbled the command's output: {exc}") from exc
    cut_err = len(stderr) > MAX_STDERR
    text_err = stderr[:MAX_STDERR].decode("utf-8", "replace")
    body, _, status = stdout.rpartition(b"\n")
    if len(stdout) > MAX_STDOUT or not status.isdigit():  # the status was cut off with it
        text = stdout[:MAX_STDOUT].decode("utf-8", "replace")
        return CommandResult(KILLED, text, text_err, truncated=True)
    return CommandResult(int(status), body.decode("utf-8", "replace"), text_err, truncated=cut_err)


def _as_given(session: Session, command: str, timeout: float) -> CommandResult:
    """Network gear: its CLI has no exit status; the output is what the device printed."""
    try:
        output = str(session.send_command(command, read_timeout=timeout))
    except _netmiko().exceptions.ReadTimeout as exc:
        raise _NoAnswer(str(exc)) from exc
    cut = len(output) > MAX_STDOUT
    return CommandResult(0, output[:MAX_STDOUT], truncated=cut)


def _reason(exc: BaseException) -> str:
    """netmiko wraps the socket's error in a long help text: the cause is shorter."""
    cause = exc.__cause__ or exc.__context__
    wrapped = isinstance(exc, _netmiko().exceptions.NetmikoTimeoutException)
    text = str(cause if wrapped and cause else exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _refused(exc: BaseException) -> bool:
    """Connection refused or no route (the node answers that nothing is there), also when
    netmiko wrapped the socket's error."""
    for error in (exc, exc.__cause__, exc.__context__):
        if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
            return all(isinstance(e, ConnectionRefusedError) for e in error.errors.values())
        if isinstance(error, OSError) and error.errno in (
            errno.ECONNREFUSED,
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
        ):
            return True
    return False


def _quietly_close(session: Session) -> None:
    try:
        session.disconnect()
    except Exception as exc:  # closing a broken session: nothing more to learn from it
        log.debug("netmiko disconnect: %s", exc)
