"""Docker driver: labs reach neither each other nor the host; limits hold; reap cleans up."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from app.catalog import validate
from app.db import instance_id, make_engine, unit_of_work
from app.models import LabSession, State
from graders.transport import load_key, wait_ready
from labs import firewall
from labs.docker_driver import DockerDriver
from labs.driver import CANDIDATE_READY, INSTANCE_LABEL, SESSION_LABEL, Access, NodeInfo
from labs.keys import new_keypair
from labs.scenario import Scenario
from tests.integration.conftest import PRAXIS, TEST_SCENARIOS


@pytest.fixture(scope="module")
def quick() -> Scenario:
    scenario, problems = validate(TEST_SCENARIOS / "quick")
    assert scenario is not None, problems
    return scenario


@pytest.fixture
def driver() -> Iterator[DockerDriver]:
    lab_driver = DockerDriver()
    before = lab_driver.sessions()
    yield lab_driver
    for session_id in lab_driver.sessions() - before:
        lab_driver.destroy(session_id)


def access() -> Access:
    return Access(new_keypair().public, "candidat", "pw")


def reach(container: str, host: str, port: int) -> bool:
    """Can a lab node open a TCP connection? (asked from inside the node)"""
    done = (
        docker.from_env()
        .containers.get(container)
        .exec_run(["bash", "-c", f"timeout 3 bash -c '</dev/tcp/{host}/{port}'"])
    )
    return done.exit_code == 0


def test_sessions_cannot_reach_each_other_nor_host_services(
    driver: DockerDriver, quick: Scenario
) -> None:
    keys = new_keypair()
    lab_access = Access(keys.public, "candidat", "pw")
    a: dict[str, NodeInfo] = driver.create("isoa00000001", quick, lab_access)
    b: dict[str, NodeInfo] = driver.create("isob00000001", quick, lab_access)
    for lab in (a, b):  # booted, as the platform waits before a session is ready
        wait_ready(lab["web"].address, load_key(keys.private), 90)
    gateway = a["web"].address.rsplit(".", 1)[0] + ".1"
    listener = socket.create_server(("0.0.0.0", 0))  # a host service on every address
    port = listener.getsockname()[1]
    try:
        # sshd answers inside each lab, so a refusal below is isolation, not a dead node.
        assert reach("praxis-isoa00000001-web", a["web"].address, 22)
        assert not reach("praxis-isoa00000001-web", b["web"].address, 22)
        assert not reach("praxis-isob00000001-web", a["web"].address, 22)
        assert not reach("praxis-isoa00000001-web", gateway, port)
        assert not reach("praxis-isoa00000001-web", gateway, 3142)  # internet: none -> no cache
        # A rule for this very address, left by a platform that died with its database (no
        # reaper will remove it), opens nothing: it names the dead session's bridge too.
        firewall.allow_cache("stale0000001", "gone", "px-stale000000", a["web"].address, 3142)
        assert not reach("praxis-isoa00000001-web", gateway, 3142)
    finally:
        firewall.forget("stale0000001")
        listener.close()


def fetch(container: str, url: str, proxy: str = "", answer: str = "http_code") -> str:
    """The HTTP status of `url` asked from inside a lab node ('000': no answer); `answer`
    http_connect: the proxy's answer to the tunnel asked for an https URL."""
    command = ["curl", "-s", "-m", "60", "-o", "/dev/null", "-w", f"%{{{answer}}}", url]
    node = docker.from_env().containers.get(container)
    return str(node.exec_run([*command, *(["-x", proxy] if proxy else [])]).output.decode())


def test_packages_nodes_get_debian_from_the_cache_and_nothing_else(
    driver: DockerDriver, quick: Scenario
) -> None:
    node = quick.nodes["web"].model_copy(update={"internet": "packages"})
    scenario = quick.model_copy(update={"nodes": {"web": node}})
    keys = new_keypair()
    nodes = driver.create("pkgs00000001", scenario, Access(keys.public, "candidat", "pw"))
    wait_ready(nodes["web"].address, load_key(keys.private), 90)  # its apt proxy is set at boot
    web, gateway = "praxis-pkgs00000001-web", nodes["web"].address.rsplit(".", 1)[0] + ".1"
    assert reach(web, gateway, 3142)
    assert not reach(web, gateway, 22)
    container = docker.from_env().containers.get(web)
    apt = container.exec_run(
        ["bash", "-c", "cd /tmp && apt-get -qq update && apt-get -qq download hello && ls hello_*"]
    )
    assert apt.exit_code == 0, apt.output.decode()
    # scripts/setup.sh's configuration: Debian's repositories only. Another distribution's
    # (declared by the package's own configuration) goes to a proxy that refuses on the host;
    # any other address, a tunnel and the cache's report page are refused by the cache itself.
    cache = f"http://{gateway}:3142"
    assert fetch(web, "http://archive.ubuntu.com/ubuntu/dists/jammy/InRelease", cache) == "503"
    assert fetch(web, "http://example.com/", cache) == "403"
    assert fetch(web, "https://bugs.debian.org/", cache, "http_connect") == "403"
    assert fetch(web, f"{cache}/acng-report.html") == "403"
    assert fetch(web, f"{cache}/acng-report.html", cache) == "403"


def test_nodes_are_capped_unprivileged_and_labelled(driver: DockerDriver, quick: Scenario) -> None:
    keys = new_keypair()
    nodes = driver.create("caps00000001", quick, Access(keys.public, "candidat", "pw"))
    wait_ready(nodes["web"].address, load_key(keys.private), 60, probe=CANDIDATE_READY)
    container = docker.from_env().containers.get("praxis-caps00000001-web")
    # Ready means the candidate can log in too: their account is made (after sshd starts).
    assert container.exec_run(["id", "candidat"]).exit_code == 0
    host = container.attrs["HostConfig"]
    assert host["Privileged"] is False
    assert host["Memory"] == 256 << 20 and host["MemorySwap"] == 256 << 20
    assert host["NanoCpus"] == 1_000_000_000 and host["PidsLimit"] == 512
    assert host["CapDrop"] == ["ALL"] and "SYS_ADMIN" not in host["CapAdd"]
    assert host["StorageOpt"] == {"size": str(4 << 30)}  # the default disk: 4G
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
    assert (
        container.labels[SESSION_LABEL] == "caps00000001"
        and container.labels["praxis.node"] == "web"
    )
    assert container.attrs["Config"]["Hostname"] == "web"
    # The grader's private key never enters the lab; only its public half does.
    keys = container.exec_run(["cat", "/root/.ssh/authorized_keys"]).output.decode()
    assert keys.startswith("ssh-ed25519 ") and "PRIVATE" not in keys


def test_a_node_that_fills_its_disk_stops_at_its_cap(driver: DockerDriver, quick: Scenario) -> None:
    node = quick.nodes["web"].model_copy(update={"disk": "1G"})
    driver.create("disk00000001", quick.model_copy(update={"nodes": {"web": node}}), access())
    driver.create("disk00000002", quick, access())
    engine = docker.from_env()
    fill = engine.containers.get("praxis-disk00000001-web").exec_run(
        ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=1536 conv=fsync; du -m /fill"]
    )
    said = fill.output.decode()
    assert fill.exit_code == 0 and "Disk quota exceeded" in said, said
    assert int(said.split()[-2]) < 1024  # the image counts in the cap, so less than 1 GiB
    # The neighbour lab, the node itself once it frees space, and the host are untouched.
    neighbour = engine.containers.get("praxis-disk00000002-web")
    write = ["sh", "-c", "dd if=/dev/zero of=/f bs=1M count=200 conv=fsync && rm /f"]
    assert neighbour.exec_run(write).exit_code == 0
    capped_node = engine.containers.get("praxis-disk00000001-web")
    assert capped_node.exec_run(["sh", "-c", "rm /fill && " + write[2]]).exit_code == 0


class Platform:
    """A platform instance as `praxis reap` sees it: its own database (hence instance id)."""

    def __init__(self, folder: Path) -> None:
        self.env = {**os.environ, "PRAXIS_DATA_DIR": str(folder)}
        self.reap()  # makes and migrates the database
        self.engine = make_engine(f"sqlite:///{folder}/praxis.db")
        self.instance = instance_id(self.engine)
        self.driver = DockerDriver(instance=self.instance)

    def reap(self) -> None:
        subprocess.run([PRAXIS, "reap"], env=self.env, check=True, capture_output=True)

    def live(self, session_id: str, scenario: Scenario) -> None:
        """A running session of this platform, with its lab."""
        self.driver.create(session_id, scenario, access())
        with unit_of_work(self.engine) as db:
            db.add(LabSession(id=session_id, scenario="quick", candidate="x", state=State.ready))

    def containers(self) -> set[str]:
        mine = {"label": f"{INSTANCE_LABEL}={self.instance}"}
        return {c.name for c in docker.from_env().containers.list(all=True, filters=mine)}


def test_two_platforms_on_one_engine_reap_only_their_own(tmp_path: Path, quick: Scenario) -> None:
    ours, theirs = Platform(tmp_path / "ours"), Platform(tmp_path / "theirs")
    assert ours.instance != theirs.instance
    try:
        ours.live("ourslive0001", quick)
        theirs.live("theirslive01", quick)
        firewall.allow_cache("theirslive01", theirs.instance, "px-theirs", "10.213.250.2", 3142)
        first = ours.driver.create("idem00000001", quick, access())
        assert ours.driver.create("idem00000001", quick, access()) == first  # idempotent
        for i in range(20):  # orphans of ours: made, some destroyed twice, none in its database
            session_id = f"reap{i:08d}"
            ours.driver.create(session_id, quick, access())
            if i % 2:
                ours.driver.destroy(session_id)
                ours.driver.destroy(session_id)
        firewall.allow_cache("reap00000000", ours.instance, "px-reap0000000", "10.213.250.3", 3142)
        ours.reap()
        theirs.reap()
        assert ours.containers() == {"praxis-ourslive0001-web"}
        assert theirs.containers() == {"praxis-theirslive01-web"}
        assert ours.driver.sessions() == {"ourslive0001"}
        assert firewall.sessions(theirs.instance) == {"theirslive01"}
        assert firewall.sessions(ours.instance) == set()
    finally:
        for platform, session_id in ((ours, "ourslive0001"), (theirs, "theirslive01")):
            platform.driver.destroy(session_id)
    assert ours.containers() == theirs.containers() == set()
    mine = {"label": f"{INSTANCE_LABEL}={ours.instance}"}
    assert docker.from_env().networks.list(filters=mine) == []


@pytest.mark.parametrize("restart", [True, False])
def test_the_cut_off_ends_what_the_candidate_left_running(
    driver: DockerDriver, quick: Scenario, restart: bool
) -> None:
    keys = new_keypair()
    lab_access = Access(keys.public, "candidat", "pw")
    nodes = driver.create("cut" + str(restart).lower(), quick, lab_access)
    wait_ready(nodes["web"].address, load_key(keys.private), 60)
    container = docker.from_env().containers.get(nodes["web"].ref)
    for user in ("candidat", "root"):  # a background job of the candidate's, and of root's
        container.exec_run(
            ["runuser", "-u", user, "--", "setsid", "sleep", f"{777 if user == 'root' else 666}"],
            detach=True,
        )

    frozen = driver.freeze("cut" + str(restart).lower(), lab_access, restart)

    running = [p[1] for p in container.top(ps_args="-eo pid,args")["Processes"]]
    assert not any("sleep 666" in p for p in running), running
    assert any("sleep 777" in p for p in running) is not restart, running
    assert any("sshd" in p for p in running) and frozen["web"].address
    locked = container.exec_run(["passwd", "-S", "candidat"]).output.decode()
    assert locked.split()[1] == "L", locked
