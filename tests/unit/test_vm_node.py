"""graders.vm_node: how the grader asks a VM, without a VM (its SSH is the boundary)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from graders.contract import CommandResult, GraderError
from graders.transport import load_key
from graders.vm_node import VMNode, _collect
from labs.keys import new_keypair


def vm(monkeypatch: pytest.MonkeyPatch, answer: object) -> tuple[VMNode, list[str]]:
    """A VMNode whose SSH commands are answered by `answer(command)`; returns what ran."""
    node = VMNode("192.0.2.1", load_key(new_keypair().private), Path(), "uuid", "test:///default")
    ran: list[str] = []
    lock = threading.Lock()

    def run(command: str, timeout: float) -> CommandResult:
        with lock:
            ran.append(command)
        return answer(command)  # type: ignore[operator, no-any-return]

    monkeypatch.setattr(node, "_run", run)
    return node, ran


def test_a_command_asked_by_many_checks_runs_once_per_grading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node, ran = vm(monkeypatch, lambda c: CommandResult(0, f"{c}\n", ""))
    answers: list[CommandResult] = []
    threads = [
        threading.Thread(target=lambda: answers.append(node.run("virsh dominfo vm", 10)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [CommandResult(0, "virsh dominfo vm\n", "")] * 8
    assert ran == ["systemctl is-system-running --wait", "virsh dominfo vm"]
    node.run("virsh net-info n", 10)
    assert ran[-1] == "virsh net-info n"


def test_a_failed_ask_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = iter([GraderError("busy"), CommandResult(0, "ok\n", "")])

    def answer(command: str) -> CommandResult:
        if command.startswith("systemctl"):
            return CommandResult(0, "running\n", "")
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    node, ran = vm(monkeypatch, answer)
    with pytest.raises(GraderError):
        node.run("virsh list", 10)
    assert node.run("virsh list", 10).stdout == "ok\n"
    assert ran.count("virsh list") == 2


def test_a_vms_udp_port_is_asked_to_its_kernel_as_a_bound_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named = 'UNCONN 0 0 0.0.0.0:53 0.0.0.0:* users:(("named",pid=812,fd=20))\n'

    def answer(command: str) -> CommandResult:
        if command.startswith("ss -Hlunp"):
            return CommandResult(0, named, "")
        if command.startswith("readlink /proc/812/exe"):
            return CommandResult(0, "/usr/sbin/named\n0123abcd  -\n", "")
        return CommandResult(0, "", "")

    node, ran = vm(monkeypatch, answer)
    node.judge.set_result(None)
    assert [p.exe for p in node.listeners(53, "udp")] == ["/usr/sbin/named"]
    assert "ss -Hlunp 'sport = :53'" in ran
    assert node.listeners(53) == []
    assert "ss -Hltnp 'sport = :53'" in ran


class LateOutput:
    """A session channel whose exit status comes before its output's last line, as sshd may
    send them on a busy host; its end of file comes after."""

    def __init__(self, polls_before_output: int) -> None:
        self.polls = polls_before_output
        self.sent = False
        self.eof_received = False
        self.closed = False

    def settimeout(self, timeout: float) -> None:
        pass

    def exit_status_ready(self) -> bool:
        self.polls -= 1
        return True

    def recv_ready(self) -> bool:
        return self.polls <= 0 and not self.sent

    def recv(self, size: int) -> bytes:
        self.sent = self.eof_received = True
        return b"running (booted)\n"

    def recv_stderr_ready(self) -> bool:
        return False

    def recv_exit_status(self) -> int:
        return 0


def test_the_output_is_read_to_its_end_not_only_to_the_exit_status() -> None:
    result = _collect(LateOutput(polls_before_output=5), time.monotonic() + 10, 10)  # type: ignore[arg-type]
    assert result == CommandResult(0, "running (booted)\n", "")


def test_a_child_holding_the_output_open_ends_the_read_soon_after_the_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("graders.vm_node.EOF_GRACE", 0.1)
    result = _collect(LateOutput(polls_before_output=10**9), time.monotonic() + 10, 10)  # type: ignore[arg-type]
    assert result == CommandResult(0, "", "")
