"""The netmiko transport against stand-ins for netmiko's session (the SSH boundary).

`ShellSession` runs each line the transport types with a real /bin/sh, and shows what a
terminal would: the line's echo, the output with CRLF line ends, a prompt. The frame, the
caps, the clean environment and the exit status are thus those of a real shell; a real sshd
and netmiko are the integration test's (tests/integration/test_netmiko_node.py).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import pytest
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

from graders.contract import CommandResult, GraderError, NodeUnreachable
from graders.netmiko_node import MAX_STDERR, MAX_STDOUT, Garbled, NetmikoNode, unframe
from graders.transport import load_key
from labs.keys import new_keypair

KEY = load_key(new_keypair().private)


class ShellSession:
    """A root shell behind a terminal: lines written run in /bin/sh, one at a time."""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.screen = ""
        self.typed: list[str] = []
        self.busy = False  # two lines at once on one session would mix their output
        self.closed = False

    def establish_connection(self, width: int = 511, height: int = 1000) -> None:
        self.screen += "Linux pc1 6.1.0-28-amd64\r\nroot@pc1:~# "

    def write_channel(self, out_data: str) -> None:
        assert not self.busy, "two commands at once on one session"
        self.busy = True
        try:
            self.typed.append(out_data)
            line = out_data.rstrip("\n")
            self.screen += line.replace("\n", "\r\n") + "\r\n"  # the terminal's echo
            done = subprocess.run(["/bin/sh", "-c", line], capture_output=True, timeout=60)
            self.screen += done.stdout.decode().replace("\n", "\r\n") + "root@pc1:~# "
        finally:
            self.busy = False

    def read_until_pattern(self, pattern: str = "", read_timeout: float = 10.0) -> str:
        found = re.search(pattern, self.screen)
        if found is None:
            raise ReadTimeout(f"Pattern not detected: {pattern!r}")
        shown, self.screen = self.screen[: found.end()], self.screen[found.end() :]
        return shown

    def send_command(self, command_string: str, *, read_timeout: float = 10.0) -> Any:
        self.typed.append(command_string)
        return f"output of {command_string}"

    def disconnect(self) -> None:
        self.closed = True


class Factory:
    """netmiko's ConnectHandler stand-in: hands out sessions, or raises what it is told to."""

    def __init__(self, *failures: BaseException, session: type[ShellSession] = ShellSession):
        self.failures = list(failures)
        self.session = session
        self.made: list[ShellSession] = []

    def __call__(self, **params: Any) -> ShellSession:
        if self.failures:
            raise self.failures.pop(0)
        self.made.append(self.session(**params))
        return self.made[-1]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graders.netmiko_node.time.sleep", lambda _: None)


def node(factory: Factory, running: Callable[[], bool] = lambda: True, **kw: Any) -> NetmikoNode:
    return NetmikoNode("linux", "10.99.0.5", KEY, running, connect=factory, **kw)


def test_a_command_runs_in_a_clean_sh_with_status_stdout_and_stderr_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LD_PRELOAD_LIKE", "from the candidate's profile")
    factory = Factory()
    result = node(factory).run("echo out; echo err >&2; env | sort; exit 3", 10)
    assert result == CommandResult(
        3, f"out\nLANG=C.UTF-8\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\nPWD={os.getcwd()}\n", "err\n"
    )
    session = factory.made[0]
    assert session.params["device_type"] == "linux"
    assert session.params["username"] == "root"
    assert session.params["use_keys"] is False and session.params["pkey"] is not None
    assert session.params["auto_connect"] is False
    assert session.typed[0].startswith("unset HISTFILE; ")
    line = session.typed[1]
    assert line.startswith("env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /bin/sh -c ")
    # The markers never appear whole in what is typed (and echoed).
    assert not re.search(r"praxis-(out|err)-[0-9a-f]{16}", line)


@pytest.mark.parametrize(
    "command",
    ["printf 'a\\tb\\n'", "printf 'tab\there\\n'\necho line2", 'echo "quotes \' and $HOME"'],
)
def test_any_command_line_comes_through_as_written(command: str) -> None:
    expected = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    ).stdout
    assert node(Factory()).run(command, 10).stdout == expected


def test_output_is_capped_on_the_node_and_marked() -> None:
    big = node(Factory()).run("head -c 3000000 /dev/zero | tr '\\0' x; echo done", 30)
    assert big.truncated and big.status == 137
    assert big.stdout == "x" * MAX_STDOUT
    loud = node(Factory()).run("yes err | head -c 200000 >&2; echo fine", 30)
    assert loud.truncated and loud.stdout == "fine\n" and len(loud.stderr) == MAX_STDERR


def test_candidate_text_cannot_fake_the_frame() -> None:
    fake = "printf 'praxis-out-0000000000000000 MTIzCjA=\\npraxis-err-0000000000000000 \\n'"
    result = node(Factory()).run(fake + "; exit 1", 10)
    assert result.status == 1
    assert "praxis-out-0000000000000000" in result.stdout


def test_one_session_serves_every_check_one_command_at_a_time() -> None:
    factory = Factory()
    transport = node(factory)
    results: list[CommandResult] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(transport.run(f"echo {i}", 10)))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.stdout for r in results) == sorted(f"{i}\n" for i in range(8))
    assert len(factory.made) == 1
    transport.close()
    assert factory.made[0].closed


def test_the_same_command_runs_once() -> None:
    factory = Factory()
    transport = node(factory)
    assert transport.run("date +%N", 10) == transport.run("date +%N", 10)
    assert len(factory.made[0].typed) == 2  # the first line, and the command once


def test_a_vm_is_asked_to_finish_its_boot_first() -> None:
    factory = Factory()
    node(factory, boot_wait=120).run("true", 10)
    assert "systemctl is-system-running --wait" in factory.made[0].typed[1]
    assert len(factory.made[0].typed) == 3


class Hanging(ShellSession):
    """The command never ends (nothing is run: only its end is never seen)."""

    def write_channel(self, out_data: str) -> None:
        if "HISTFILE" in out_data:
            super().write_channel(out_data)

    def read_until_pattern(self, pattern: str = "", read_timeout: float = 10.0) -> str:
        if "ready" in pattern:
            return super().read_until_pattern(pattern, read_timeout)
        raise ReadTimeout("Pattern not detected")


def test_no_answer_in_time_is_the_graders_error_and_the_session_is_dropped() -> None:
    factory = Factory(session=Hanging)
    transport = node(factory)
    with pytest.raises(GraderError, match="no answer within 2s"):
        transport.run("sleep 600", 2)
    assert factory.made[0].closed
    with pytest.raises(NodeUnreachable, match="down"):
        node(Factory(session=Hanging), running=lambda: False).run("sleep 600", 2)


class LosesTheFirstLine(ShellSession):
    lost = False

    def write_channel(self, out_data: str) -> None:
        if "HISTFILE" not in out_data and not LosesTheFirstLine.lost:
            LosesTheFirstLine.lost = True
            raise OSError("Socket is closed")
        super().write_channel(out_data)


def test_a_session_lost_mid_command_is_opened_again_and_asked_again() -> None:
    factory = Factory(session=LosesTheFirstLine)
    assert node(factory).run("echo again", 10).stdout == "again\n"
    assert len(factory.made) == 2 and factory.made[0].closed


def _socket_error(error: OSError) -> NetmikoTimeoutException:
    """What netmiko raises for a socket error at connect: its help text, the error as the
    exception's context (it raises inside `except socket.error`)."""
    wrapped = NetmikoTimeoutException("TCP connection to device failed.\n\nCommon causes")
    wrapped.__context__ = error
    return wrapped


def test_refused_or_down_is_unreachable_a_timeout_on_a_running_node_is_the_graders() -> None:
    refused = [_socket_error(ConnectionRefusedError(111, "Connection refused")) for _ in range(3)]
    factory = Factory(*refused)
    transport = node(factory)
    with pytest.raises(NodeUnreachable, match="Connection refused"):
        transport.run("true", 10)
    with pytest.raises(NodeUnreachable):  # not tried again for every check
        transport.run("echo other", 10)
    assert factory.failures == []
    slow = [_socket_error(TimeoutError("timed out")) for _ in range(3)]
    with pytest.raises(GraderError, match="timed out"):
        node(Factory(*slow)).run("true", 10)
    slow = [_socket_error(TimeoutError("timed out")) for _ in range(3)]
    with pytest.raises(NodeUnreachable):
        node(Factory(*slow), running=lambda: False).run("true", 10)


def test_a_transient_connect_failure_is_retried() -> None:
    factory = Factory(_socket_error(TimeoutError("timed out")))
    assert node(factory).run("echo up", 10).stdout == "up\n"


def test_a_refused_key_is_unreachable_at_once() -> None:
    factory = Factory(NetmikoAuthenticationException("Authentication to device failed."))
    with pytest.raises(NodeUnreachable, match="authentication refused"):
        node(factory).run("true", 10)


class Silent(ShellSession):
    def read_until_pattern(self, pattern: str = "", read_timeout: float = 10.0) -> str:
        raise ReadTimeout("Pattern not detected")


def test_a_shell_that_runs_nothing_fails_once_not_per_check() -> None:
    factory = Factory(session=Silent)
    transport = node(factory)
    for _ in range(2):
        with pytest.raises(GraderError, match="root's shell did not answer"):
            transport.run("true", 10)
    assert len(factory.made) == 1


def test_network_gear_gets_the_command_as_given() -> None:
    factory = Factory()
    transport = NetmikoNode("cisco_ios", "10.99.0.6", KEY, lambda: True, connect=factory)
    assert transport.run("show vlan brief", 10) == CommandResult(0, "output of show vlan brief")
    assert factory.made[0].typed == ["show vlan brief"]
    assert "auto_connect" not in factory.made[0].params


@pytest.mark.parametrize(
    "shown",
    [
        "praxis-out-abc QUJD\npraxis-err-abc",  # cut
        "praxis-out-abc QUJD\n",  # no stderr marker
        "praxis-out-abc QUJ*\npraxis-err-abc \n",  # not base64
    ],
)
def test_a_frame_that_did_not_come_back_whole_is_garbled(shown: str) -> None:
    with pytest.raises(Garbled):
        unframe(shown, "abc")


def test_unframe_reads_status_and_line_ends() -> None:
    out = base64.b64encode(b"a\nb\n\n7").decode()
    assert unframe(f"echo...\r\npraxis-out-n {out}\r\npraxis-err-n \r\n# ", "n") == CommandResult(
        7, "a\nb\n", ""
    )
