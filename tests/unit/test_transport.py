"""SSH transport retries at the paramiko boundary (stubbed): refused channels, lost statuses."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import paramiko
import pytest

import graders.transport as transport
from graders.contract import CommandResult, NodeUnreachable
from labs.keys import new_keypair


def scripted(monkeypatch: pytest.MonkeyPatch, outcomes: list[Any]) -> list[str]:
    calls: list[str] = []

    def fake_exec(client: object, command: str, timeout: float, stdin: str | None) -> CommandResult:
        calls.append(command)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    monkeypatch.setattr(transport, "_exec", fake_exec)
    monkeypatch.setattr(transport.SSHTransport, "_connect", lambda self: object())
    monkeypatch.setattr(transport.time, "sleep", lambda _: None)
    return calls


def ssh() -> transport.SSHTransport:
    return transport.SSHTransport("10.0.0.2", transport.load_key(new_keypair().private))


def test_a_lost_exit_status_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = scripted(monkeypatch, [CommandResult(-1, "1\n"), CommandResult(0, "1\n")])
    assert ssh().run("true", 5) == CommandResult(0, "1\n")
    assert calls == ["true", "true"]


def test_a_refused_channel_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = paramiko.ChannelException(2, "Connect failed")
    scripted(monkeypatch, [refused, CommandResult(0, "ok")])
    assert ssh().run("true", 5).stdout == "ok"
    scripted(
        monkeypatch, [paramiko.SSHException("Unable to open channel."), CommandResult(0, "ok")]
    )
    assert ssh().run("true", 5).stdout == "ok"
    scripted(monkeypatch, [paramiko.SSHException("Connection reset")])
    with pytest.raises(NodeUnreachable, match="Connection reset"):
        ssh().run("true", 5)
    scripted(monkeypatch, [refused, refused, refused])
    with pytest.raises(NodeUnreachable, match="channel refused"):
        ssh().run("true", 5)


def test_a_timeout_is_a_result_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, [TimeoutError()])
    assert ssh().run("sleep 60", 1).status == 124


def test_a_readiness_wait_does_not_abandon_a_login_the_node_is_slow_to_answer() -> None:
    """sshd accepted the connection but is slow to send its banner (a TCG guest on a busy
    host): the wait keeps that try instead of dropping it every CONNECT_TIMEOUT for a new one,
    each leaving the node more work."""
    tries: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def slow_sshd() -> None:  # accepts, never answers
        with contextlib.suppress(OSError):
            while True:
                tries.append(listener.accept()[0])

    threading.Thread(target=slow_sshd, daemon=True).start()
    timeout = transport.CONNECT_TIMEOUT + 3
    try:
        with pytest.raises(NodeUnreachable, match="not ready after"):
            transport.wait_ready("127.0.0.1", ssh().key, timeout, port=port)
    finally:
        listener.close()
        for conn in tries:
            conn.close()
    assert len(tries) == 1
