"""Grading a lab from outside the service: the nodes reached through the engine, their
integrity judged first, the whole in a child process that is killed at its deadline.

A lab's content is hostile and can be made slow or huge on purpose; whatever it does, the
service's own interpreter (the API, the clock, every other candidate's terminal) never runs
a single check: `grade_in_worker` forks a fresh process from a clean fork server and waits
for its report, at most `budget` seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pkgutil
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors

import graders
from graders import integrity, ssh_login, vm_disk
from graders.contract import Transport
from graders.debs import PackageIndex
from graders.docker_node import DockerNode
from graders.netmiko_node import NetmikoNode
from graders.report import Finding, GradeReport, NodeIntegrity
from graders.runner import criterion_result, grade
from graders.sandbox import DockerSandbox
from graders.transport import load_key
from graders.vm_node import BOOT_WAIT, VMNode
from labs.scenario import Scenario

log = logging.getLogger("praxis.grading")
Login = Literal["interactive", "exec"]
_forkserver = multiprocessing.get_context("forkserver")
GRADING_NICENESS = 0  # a worker's; the service's own is Settings.service_niceness
# Every grader module, scenario modules included, imported once in the fork server: a worker
# starts with them loaded instead of importing them for each grading.
_forkserver.set_forkserver_preload(
    [
        "graders.pipeline",
        *(f"graders.{m.name}" for m in pkgutil.iter_modules(graders.__path__)),
        "netmiko",  # graders.netmiko_node imports it on first use: here, once
    ]
)


@dataclass(frozen=True)
class NodeRef:
    ref: str  # the container's id, the VM's domain uuid
    address: str  # on the lab network, for checks from outside (and SSH to a VM)
    disk: str = ""  # a VM's disk as frozen at the cut-off (graders.vm_disk)
    os: str = "linux"  # a VM's system, from its image


@dataclass(frozen=True)
class GradingJob:
    """Everything a grading needs, as plain data (it crosses into the worker process)."""

    scenario: Scenario
    nodes: dict[str, NodeRef]
    params: dict[str, str]
    docker_url: str | None
    package_cache: Path
    state_dir: Path
    grader_key: str = ""  # the session's private key: VMs are reached over SSH
    libvirt_url: str = "qemu:///system"

    def node(self, name: str, client: docker.DockerClient) -> DockerNode | VMNode:
        """The node as the grader reaches it, by its kind in the scenario."""
        ref = self.nodes[name]
        if self.scenario.nodes[name].kind == "vm":
            key = load_key(self.grader_key)
            windows = ref.os == "windows"
            return VMNode(ref.address, key, Path(ref.disk), ref.ref, self.libvirt_url, windows)
        return DockerNode(client, ref.ref)

    def transport(
        self, name: str, node: DockerNode | VMNode, client: docker.DockerClient
    ) -> Transport:
        """How commands reach the node: netmiko over the management network when the
        scenario gives it a `device_type`, else the node's own way (the engine, SSH)."""
        device_type = self.scenario.nodes[name].device_type
        if device_type is None:
            return node
        ref = self.nodes[name]
        if isinstance(node, VMNode):
            running, boot = node.running, BOOT_WAIT
        else:
            running, boot = (lambda: _container_running(client, ref.ref)), 0.0
        return NetmikoNode(device_type, ref.address, load_key(self.grader_key), running, boot)

    def login(self, name: str) -> Login | None:
        """How the node's commands pass through root's SSH login: an interactive shell
        (netmiko), a command run by sshd (a Linux VM), or not at all (the engine)."""
        node = self.scenario.nodes[name]
        if node.device_type is not None:
            return "interactive"
        return "exec" if node.kind == "vm" and self.nodes[name].os != "windows" else None

    def grader_public_key(self) -> str | None:
        return load_key(self.grader_key).get_base64() if self.grader_key else None


class Scans(Mapping[str, str]):
    """Node -> why its own tools are not to be believed, from scans still running: looking a
    node up waits for its scan, so checks start at once and a verdict waits only if needed."""

    def __init__(self, scans: dict[str, Future[tuple[NodeIntegrity, str | None]]]) -> None:
        self.scans = scans

    def __getitem__(self, node: str) -> str:
        why = self.scans[node].result()[1]
        if why is None:
            raise KeyError(node)
        return why

    def __iter__(self) -> Iterator[str]:
        return (node for node in self.scans if node in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _container_running(client: docker.DockerClient, ref: str) -> bool:
    """Does the engine say the container runs? (Asked when SSH gives no answer.)"""
    try:
        return bool(client.api.inspect_container(ref)["State"].get("Running"))
    except docker.errors.NotFound:
        return False
    except (docker.errors.DockerException, OSError):
        return True  # no word from the engine: not a fact against the candidate


def _scan(
    name: str,
    node: DockerNode | VMNode,
    index: PackageIndex,
    login_key: str | None = None,
    login: Login | None = None,
) -> tuple[NodeIntegrity, str | None]:
    """The node's integrity, and why its own tools are not to be believed (None if they are).
    `login`: how its commands pass through root's SSH login, which must not run the
    candidate's code either (graders.ssh_login; `login_key` is the grader's public key)."""
    try:
        if isinstance(node, VMNode):
            found = vm_disk.scan(node.disk(), index)
        else:
            changes = node.changes()
            if changes is None:
                raise OSError("the engine's storage driver does not show what the node changed")
            found = integrity.scan(changes, f"/proc/{node.pid1()}/root", index)
    except Exception as exc:  # a node that is down is graded as it is: its checks say so
        node.judge.set_result(None)
        return NodeIntegrity(node=name, error=f"not scanned: {exc}"), None
    node.judge.set_result(found)
    logins = _login_findings(node, login_key, login == "interactive") if login else []
    report = NodeIntegrity(node=name, checked=found.checked, findings=[*found.findings, *logins])
    reasons = [found.summary] if found.findings else []
    reasons += [ssh_login.summary(logins)] if logins else []
    return report, "; ".join(reasons) or None


def _login_findings(node: DockerNode | VMNode, key: str | None, interactive: bool) -> list[Finding]:
    entries = node.entries if isinstance(node, VMNode) else None
    try:
        return ssh_login.login_findings(node, entries, key, interactive)
    except Exception as exc:  # not known to be the image's: not believed
        return [Finding(path="(root's SSH login)", problem=f"could not be checked: {exc}")]


def grade_lab(job: GradingJob) -> GradeReport:
    """Grade in this process (the worker's body; tests and benchmarks call it directly)."""
    start = time.monotonic()
    client = docker.DockerClient(base_url=job.docker_url) if job.docker_url else docker.from_env()
    pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(job.nodes)))
    nodes = {name: job.node(name, client) for name in job.nodes}
    transports: dict[str, Transport] = {}
    try:
        transports.update({name: job.transport(name, n, client) for name, n in nodes.items()})
        key = job.grader_public_key()
        index = PackageIndex.load(job.package_cache, job.state_dir)
        scans = {
            name: pool.submit(_scan, name, node, index, key, job.login(name))
            for name, node in nodes.items()
        }
        # What every criterion of a node waits for (its boot after the cut-off, the scan of
        # its disk) is done before their budgets start: a slow host makes a grading slower,
        # never incomplete. The grading's own budget still bounds it all.
        boots = [pool.submit(n.wait_booted) for n in nodes.values() if isinstance(n, VMNode)]
        wait(boots)
        wait(scans.values())
        report = grade(
            job.scenario,
            transports,
            {name: ref.address for name, ref in job.nodes.items()},
            job.params,
            views=nodes,
            untrusted=Scans(scans),
            packages=index,
            sandbox=DockerSandbox(client),
        )
        report.integrity = [scan.result()[0] for scan in scans.values()]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for transport in transports.values():
            if isinstance(transport, NetmikoNode):
                transport.close()
        for node in nodes.values():
            if isinstance(node, VMNode):
                node.close()
        client.close()
    report.duration_ms = int((time.monotonic() - start) * 1000)
    return report


def _child(job: GradingJob, channel: Connection) -> None:
    # Grading is batch work: it gives way to the service (candidates' terminals, examiners'
    # pages), which runs at a higher priority that this process inherited.
    os.setpriority(os.PRIO_PROCESS, 0, GRADING_NICENESS)
    try:
        channel.send(("ok", grade_lab(job).model_dump()))
    except Exception as exc:
        channel.send(("error", f"{type(exc).__name__}: {exc}"))
    channel.close()
    os._exit(0)  # at once: a check stuck in a thread must not hold the process on its way out


def grade_in_worker(job: GradingJob, budget: float) -> GradeReport:
    """Grade in a child process; past `budget` seconds it is killed and every criterion is
    `error` (the grade is incomplete, to be graded again). Never raises for the lab's sake."""
    receive, send = _forkserver.Pipe(duplex=False)
    worker = _forkserver.Process(target=_child, args=(job, send), daemon=True)
    worker.start()
    send.close()
    outcome: tuple[str, Any] = ("error", f"grading took longer than its budget of {budget:g}s")
    try:
        if receive.poll(budget):
            outcome = receive.recv()
    except EOFError:
        outcome = ("error", f"the grading process died (exit code {worker.exitcode})")
    finally:
        worker.join(1 if outcome[0] == "ok" else 0)  # it ends by itself once it has answered
        if worker.is_alive():  # asked only while it lives: a reaped pid may be someone else's
            worker.kill()
            worker.join(5)
        receive.close()
    if outcome[0] == "ok":
        return GradeReport.model_validate(outcome[1])
    log.error("grading failed: %s", outcome[1])
    return failed_report(job.scenario, job.params, outcome[1])


def failed_report(scenario: Scenario, params: dict[str, str], reason: str) -> GradeReport:
    """Every criterion `error` with the reason: nothing was graded, nothing is held against
    the candidate."""
    return GradeReport(
        criteria=[
            criterion_result(c, params, 0, "error", f"could not be graded: {reason}")
            for c in scenario.criteria
        ],
        duration_ms=0,
    )
