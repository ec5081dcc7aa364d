"""graders.vm_node: how the grader asks a VM, without a VM (its SSH is the boundary)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from graders.contract import CommandResult, GraderError
from graders.transport import load_key
from graders.vm_node import VMNode
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
