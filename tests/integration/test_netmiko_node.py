"""Network checks graded over netmiko on real containers: root's SSH login through the lab's
own sshd, on the management network. The network checks pass on what the lab does; a node
whose root login was rigged (a shell function in /root/.bashrc) has its verdicts withheld
and is reported; a node that refuses the grader's key is unreachable, not failed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.backends import lab_driver
from app.config import Settings
from graders.pipeline import GradingJob, NodeRef, grade_lab
from graders.report import GradeReport
from graders.transport import load_key, wait_ready
from labs.driver import Access, LabDriver
from labs.keys import new_keypair
from labs.scenario import Scenario

INSTANCE = "test-netmiko"
SESSION = "tnetmiko1"
PC = {"image": "debian-bookworm", "memory": "256M", "capabilities": ["NET_ADMIN"]}


def _criterion(cid: str, check: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "title": {"fr": cid, "en": cid}, "check": check}


SCENARIO = Scenario.model_validate(
    {
        "id": "netmiko-lab",
        "title": {"fr": "netmiko", "en": "netmiko"},
        "duration": "30m",
        "nodes": {"a": {**PC, "device_type": "linux"}, "b": {**PC, "device_type": "linux"}},
        "links": [{"endpoints": ["a:eth1", "b:eth1"]}],
        "criteria": [
            _criterion(
                "address",
                {"type": "address", "node": "a", "address": "10.77.0.1/24", "interface": "eth1"},
            ),
            _criterion("reach", {"type": "ping", "node": "a", "to": "10.77.0.2"}),
            _criterion(
                "no-reach", {"type": "ping", "node": "a", "to": "10.77.0.9", "reachable": False}
            ),
            _criterion(
                "route", {"type": "route", "node": "b", "to": "10.77.0.0/24", "dev": "eth1"}
            ),
            # A container's ip_forward comes from the host: the default TTL is the node's own.
            _criterion(
                "ttl",
                {"type": "sysctl", "node": "b", "key": "net.ipv4.ip_default_ttl", "value": "64"},
            ),
        ],
    }
)


@pytest.fixture
def driver() -> Iterator[LabDriver]:
    made = lab_driver(Settings(), INSTANCE)
    yield made
    for session_id in made.sessions():
        made.destroy(session_id)


def _sh(node: str, command: str) -> None:
    done = subprocess.run(
        ["docker", "exec", f"praxis-{SESSION}-{node}", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def _verdicts(report: GradeReport) -> dict[str, tuple[float, str]]:
    return {c.id: (c.score, c.message) for c in report.criteria}


def test_network_checks_over_netmiko_and_a_rigged_login(driver: LabDriver) -> None:
    keys = new_keypair()
    settings = Settings()
    nodes = driver.create(SESSION, SCENARIO, Access(keys.public, "candidat", "pw-netmiko"))
    for info in nodes.values():
        wait_ready(info.address, load_key(keys.private), 60)
    _sh("a", "ip addr add 10.77.0.1/24 dev eth1 && ip link set eth1 up")
    _sh("b", "ip addr add 10.77.0.2/24 dev eth1 && ip link set eth1 up")
    job = GradingJob(
        scenario=SCENARIO,
        nodes={name: NodeRef(info.ref, info.address) for name, info in nodes.items()},
        params={},
        docker_url=settings.docker_url,
        package_cache=settings.package_cache_dir,
        state_dir=settings.data_dir,
        grader_key=keys.private,
    )

    start = time.monotonic()
    report = grade_lab(job)
    took = time.monotonic() - start
    verdicts = _verdicts(report)
    assert all(score == 1 for score, _ in verdicts.values()), verdicts
    assert verdicts["address"][1] == "eth1 has 10.77.0.1/24"
    assert verdicts["reach"][1] == "a reaches 10.77.0.2: 3/3 replies"
    assert verdicts["route"][1] == "10.77.0.0/24 dev eth1"
    assert not any(node.findings or node.error for node in report.integrity), report.integrity
    evidence = report.criteria[0].evidence[0]
    assert (evidence.command, evidence.via, evidence.status) == ("ip -j address show", "node", 0)
    commands = [e.duration_ms for c in report.criteria for e in c.evidence]
    print(f"graded in {took:.2f}s; commands over netmiko: {sorted(commands)} ms")
    assert took < 30

    # A shell function named `env` would answer for every command: the login is not believed.
    _sh("b", "echo 'env() { echo 0; }' >> /root/.bashrc")
    # And a node that refuses the grader's key is unreachable, not failed.
    _sh("a", "rm /root/.ssh/authorized_keys")
    rigged = grade_lab(job)
    verdicts = _verdicts(rigged)
    for criterion in ("route", "ttl"):
        score, message = verdicts[criterion]
        assert score == 0 and message.startswith("verdict withheld: b: root's SSH login"), message
        assert "/root/.bashrc" in message
    findings = {n.node: [f.path for f in n.findings] for n in rigged.integrity}
    assert findings == {"a": [], "b": ["/root/.bashrc"]}, findings
    for criterion in ("address", "reach", "no-reach"):
        score, message = verdicts[criterion]
        assert score == 0 and "authentication refused" in message, message
