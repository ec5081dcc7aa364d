"""The grader's way into a container, against the real engine: every output arrives whole,
output is capped, a slow command is killed from the host, and the host's view of the node's
files cannot be led outside it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
from docker.models.containers import Container

from graders.contract import GraderError
from graders.docker_node import MAX_STDOUT, DockerNode
from labs.images import image_tag


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[DockerNode, Container]]:
    engine = docker.from_env()
    container = engine.containers.run(
        image_tag("debian-bookworm"),
        detach=True,
        tmpfs={"/run": "", "/run/lock": ""},
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}},
        userns_mode="host",  # systemd with the host's cgroups: as root of the host
        stop_signal="SIGRTMIN+3",
        labels={"praxis.test": "docker-node"},
    )
    yield DockerNode(engine, container.id or ""), container
    container.remove(force=True)


def test_every_short_output_arrives_whole_under_load(node: tuple[DockerNode, Container]) -> None:
    grader, _ = node
    # Under load the first bytes come with the engine's HTTP answer: they must not be lost.
    with ThreadPoolExecutor(12) as pool:
        outputs = list(pool.map(lambda i: grader.run(f"echo {i}; echo e{i} >&2", 10), range(150)))
    assert [(o.stdout, o.stderr) for o in outputs] == [(f"{i}\n", f"e{i}\n") for i in range(150)]
    assert grader.run("exit 3", 10).status == 3


def test_output_is_capped_and_a_slow_command_is_killed(node: tuple[DockerNode, Container]) -> None:
    grader, container = node
    flood = grader.run("yes", 10)
    assert flood.truncated and MAX_STDOUT - 64 < len(flood.stdout) <= MAX_STDOUT
    start = time.monotonic()
    with pytest.raises(GraderError, match="no answer within 1s"):
        grader.run("sleep 300 # slow-one", 1)
    assert time.monotonic() - start < 3

    def survivors() -> list[str]:
        left = [p[1] for p in container.top(ps_args="-eo pid,args")["Processes"]]
        return [a for a in left if "slow-one" in a or a == "yes"]

    deadline = time.monotonic() + 5  # SIGKILL is sent at once; the engine's list may lag
    while survivors() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not survivors()


def test_the_host_view_stays_inside_the_node(node: tuple[DockerNode, Container]) -> None:
    grader, _ = node
    grader.run("ln -sf /etc/hostname /root/link; ln -sf ../../../../proc/1/environ /root/up", 5)
    with open("/etc/hostname", "rb") as host:
        host_name = host.read()
    inside = grader.read("/root/link", 100)
    assert inside is not None and inside.content != host_name  # the node's own /etc/hostname
    up = grader.read("/root/up", 4096)
    assert up is None or b"PRAXIS" not in (up.content or b"") or up.path == "/proc/1/environ"
