"""Node rights against the real service and engine: a scenario asking for SYS_ADMIN is refused
unless the operator allows it; a node sees its own cgroups, not the host's nor a neighbour's;
its root is nobody on the host."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from app.catalog import validate
from graders.docker_node import DockerNode
from graders.transport import load_key, wait_ready
from labs import userns
from labs.docker_driver import DockerDriver
from labs.driver import Access
from labs.keys import new_keypair
from tests.integration.conftest import PRAXIS, TEST_SCENARIOS, Service

ROOT_RIGHTS = """\
id: root-rights
title: {fr: "Droits"}
duration: 10m
nodes:
  web: {image: debian-bookworm, memory: 256M, capabilities: [NET_ADMIN, SYS_ADMIN]}
criteria:
  - id: a
    title: {fr: "a"}
    check: {type: command, node: web, run: "true"}
"""


def test_a_scenario_asking_for_sys_admin_is_refused_unless_allowed(tmp_path: Path) -> None:
    service = Service(tmp_path)
    folder = tmp_path / "scenarios" / "root-rights"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(ROOT_RIGHTS)
    (folder / "instructions.fr.md").write_text("# Droits\n")
    where = f"{folder / 'scenario.yaml'}:5: nodes.web.capabilities: SYS_ADMIN is not allowed"
    service.start()
    try:
        with service.client() as api:
            assert any(
                p.startswith(where) for p in api.get("/api/scenarios/root-rights/problems").json()
            )
            launch = api.post("/api/sessions", json={"scenario": "root-rights", "candidate": "X"})
            assert launch.status_code == 422 and where in launch.text, launch.text
    finally:
        service.kill(signal.SIGTERM)
    refused = subprocess.run(
        [PRAXIS, "scenario", "validate", str(folder)],
        env=service.env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and where in refused.stdout, refused.stdout
    allowed = subprocess.run(
        [PRAXIS, "scenario", "validate", str(folder)],
        env={**service.env, "PRAXIS_ALLOWED_CAPABILITIES": "SYS_ADMIN"},
        capture_output=True,
        text=True,
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


@pytest.fixture
def driver() -> Iterator[DockerDriver]:
    lab_driver = DockerDriver(instance="node-rights-test")
    yield lab_driver
    for session_id in lab_driver.sessions():
        lab_driver.destroy(session_id)


def test_a_node_sees_its_own_cgroups_only_and_systemd_runs(driver: DockerDriver) -> None:
    quick, problems = validate(TEST_SCENARIOS / "quick")
    assert quick is not None, problems
    keys = new_keypair()
    labs = [
        driver.create(f"cgns{i:08d}", quick, Access(keys.public, "candidat", "pw")) for i in (1, 2)
    ]
    for lab in labs:
        wait_ready(lab["web"].address, load_key(keys.private), 90)
    engine = docker.from_env()
    node, neighbour = (engine.containers.get(lab["web"].ref) for lab in labs)

    def run(command: str) -> str:
        return str(node.exec_run(["bash", "-c", command]).output.decode())

    def booted() -> str:
        """systemd's word once its boot is over (polled: a stuck boot fails, never hangs)."""
        deadline, state = time.monotonic() + 90, ""
        while time.monotonic() < deadline and state not in ("running", "degraded"):
            state = run("systemctl is-system-running").strip()
            time.sleep(0.2)
        return state

    assert booted() in ("running", "degraded")
    seen = run("cat /proc/self/cgroup; find /sys/fs/cgroup -maxdepth 4")
    for container in (node, neighbour):
        assert str(container.id)[:12] not in seen
    assert "docker" not in seen
    # The controllers are the node's own, read-only (and the host's root's, not the node's): no
    # limit of its own (nor a neighbour's) to raise.
    limits = "/sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max"  # v1, v2
    refused = run(f"for f in {limits}; do [ -e $f ] && echo 1 > $f; done")
    assert "Read-only file system" in refused or "Permission denied" in refused, refused
    driver.start_node("cgns00000001", "web", restart=True)  # a new PID 1 gets its tree again
    assert booted() in ("running", "degraded")
    assert run("systemctl is-active ssh").strip() == "active"


def test_root_in_a_node_is_nobody_on_the_host_and_graders_see_the_nodes_ids(
    driver: DockerDriver,
) -> None:
    quick, problems = validate(TEST_SCENARIOS / "quick")
    assert quick is not None, problems
    keys = new_keypair()
    lab = driver.create("userns000001", quick, Access(keys.public, "candidat", "pw"))
    wait_ready(lab["web"].address, load_key(keys.private), 90)
    node = docker.from_env().containers.get(lab["web"].ref)
    pid = int(node.attrs["State"]["Pid"])
    # `make setup` runs the engine with userns-remap: the node's root is a host user of no rights.
    uids = userns.of_process(pid)
    assert not uids.identity and uids.host(0) >= 65536, uids
    assert os.stat(f"/proc/{pid}").st_uid == uids.host(0)
    # The grader reads files from the host, and gives them the node's owners.
    node.exec_run(["install", "-o", "candidat", "-g", "candidat", "/dev/null", "/srv/mine"])
    view = DockerNode(docker.from_env(), lab["web"].ref)
    shadow, mine = view.read("/etc/shadow", 0), view.read("/srv/mine", 0)
    assert shadow is not None and (shadow.uid, shadow.gid) == (0, 42)  # root:shadow
    assert mine is not None and (mine.uid, mine.gid) == (1000, 1000)
    # Sudo works for the candidate (systemd's own checks are in the test above).
    sudo = node.exec_run(["su", "candidat", "-c", "echo pw | sudo -S -p '' id -u"])
    assert sudo.output.decode().strip().endswith("0"), sudo.output
