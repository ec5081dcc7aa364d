"""The grading sandbox on the real engine: what a candidate's code can do there, and what it
cannot (reach a network, be root, outgrow its memory, processes, time or output)."""

from __future__ import annotations

import docker
import pytest

from graders.contract import TIMED_OUT
from graders.sandbox import LABEL, MAX_OUTPUT, DockerSandbox


@pytest.fixture(scope="module")
def sandbox() -> DockerSandbox:
    return DockerSandbox(docker.from_env())


FORKS = """
import os, time
n = 0
try:
    while n < 500:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError:
    print("stopped at", n)
"""


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


def test_it_runs_the_files_as_nobody_without_network(sandbox: DockerSandbox) -> None:
    files = {"pkg/m.py": b"import os\nprint(os.getuid(), os.getgid())\n"}
    done = sandbox.run(files, ["sh", "-c", "cd pkg && python3 m.py; ip link 2>&1 | head -1"], 60)
    assert done.status == 0
    assert done.stdout.splitlines()[0] == "65534 65534"
    reach = sandbox.run({}, py("import socket; socket.create_connection(('10.0.0.1', 80), 3)"), 60)
    assert reach.status == 1 and "Network is unreachable" in reach.stdout


def test_its_time_output_memory_and_processes_are_capped(sandbox: DockerSandbox) -> None:
    assert sandbox.run({}, ["sleep", "600"], 2).status == TIMED_OUT
    flood = sandbox.run({}, py("print('x' * 10_000_000)"), 60)
    assert flood.truncated and len(flood.stdout) == MAX_OUTPUT
    hog = sandbox.run({}, py("b = bytearray(1 << 30); print('held')"), 60)
    assert hog.status != 0 and "held" not in hog.stdout
    bomb = sandbox.run({}, py(FORKS), 60)
    stopped = int(bomb.stdout.split()[-1])
    assert "stopped at" in bomb.stdout and stopped < 64, bomb.stdout


def test_nothing_is_left_behind(sandbox: DockerSandbox) -> None:
    sandbox.run({}, ["true"], 30)
    left = docker.from_env().containers.list(all=True, filters={"label": LABEL})
    assert [c for c in left if c.status != "exited"] == []
