"""A scenario's L2 links on the real engines: containers on links of their own (a veth in a
bridge per link), a container meeting a VM, two VMs carrying 802.1Q tags between them; the
platform puts nothing on a link, two sessions of one topology never see each other's frames,
links come back when a node restarts, and nothing is left after the lab is destroyed."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from app.backends import lab_driver
from app.config import Settings
from graders.transport import SSHTransport, load_key, wait_ready
from labs.driver import Access, LabDriver
from labs.keys import new_keypair
from labs.links import Links, ports, vlan_in_containers
from labs.loader import load_scenario
from tests.integration.conftest import TEST_SCENARIOS, Service
from tests.integration.test_scenario_cli import praxis

INSTANCE = "test-links"


@pytest.fixture
def driver() -> Iterator[LabDriver]:
    made = lab_driver(Settings(), INSTANCE)
    yield made
    for session_id in made.sessions():
        made.destroy(session_id)
    assert Links(INSTANCE).sessions() == set()


def _sh(session_id: str, node: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", f"praxis-{session_id}-{node}", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _received(session_id: str, node: str, interface: str) -> int:
    done = _sh(session_id, node, f"cat /sys/class/net/{interface}/statistics/rx_packets")
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def _host_interfaces() -> list[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    return [link["ifname"] for link in json.loads(out)]


def test_container_links_are_private_wires_that_survive_a_restart(driver: LabDriver) -> None:
    scenario = load_scenario(TEST_SCENARIOS / "links-lab")[0]
    access = Access(new_keypair().public, "candidat", "pw-links")
    mine, neighbour = "tlinks1", "tlinks2"
    driver.create(mine, scenario, access)
    driver.create(neighbour, scenario, access)

    for session_id in (mine, neighbour):  # named as the scenario says, before init started
        for node, names in (("a", {"eth1", "lan2"}), ("b", {"eth1", "eth2"})):
            links = _sh(session_id, node, "ls /sys/class/net").stdout.split()
            assert names <= set(links), links
            assert not _sh(session_id, node, "ip -6 -o addr show dev eth1").stdout  # no LL
            # The lab's routes are the candidate's: none through the management interface.
            assert "default" not in _sh(session_id, node, "ip route").stdout

    # 172.17.0.0/16 is the engine's own network on the host: the host's NAT must not touch a
    # candidate's addresses that happen to fall in it.
    _sh(mine, "a", "ip addr add 10.99.0.1/24 dev eth1 && ip addr add 172.17.200.1/24 dev lan2")
    _sh(mine, "b", "ip addr add 10.99.0.2/24 dev eth1 && ip addr add 172.17.200.2/24 dev eth2")
    assert _sh(mine, "a", "ping -c 3 -W 2 10.99.0.2").stdout.count("bytes from") == 3
    assert _sh(mine, "a", "ping -c 3 -W 2 172.17.200.2").stdout.count("bytes from") == 3
    assert _sh(mine, "b", "ping -c 3 -W 2 172.17.200.1").stdout.count("bytes from") == 3

    # The neighbour's links saw nothing: not the traffic above, nothing from the platform.
    for node, interface in (("a", "eth1"), ("a", "lan2"), ("b", "eth1"), ("b", "eth2")):
        assert _received(neighbour, node, interface) == 0, (node, interface)
    # An address of mine, asked for from the neighbour's same wire, is not there.
    _sh(neighbour, "a", "ip addr add 10.99.0.5/24 dev eth1")
    assert _sh(neighbour, "a", "ping -c 2 -W 1 10.99.0.2").returncode != 0

    # At the cut-off every container restarts in a new namespace: its links are plugged again.
    driver.freeze(mine, access, restart=True)
    _sh(mine, "a", "ip addr add 10.99.0.1/24 dev eth1")
    _sh(mine, "b", "ip addr add 10.99.0.2/24 dev eth1")
    assert _sh(mine, "a", "ping -c 2 -W 2 10.99.0.2").returncode == 0

    bridges = {
        port.bridge
        for session_id in (mine, neighbour)
        for node_ports in ports(INSTANCE, session_id, scenario).values()
        for port in node_ports
    }
    assert len(bridges) == 4 and bridges <= set(_host_interfaces())
    assert Links(INSTANCE).sessions() == {mine, neighbour}
    driver.destroy(mine)
    driver.destroy(neighbour)
    assert Links(INSTANCE).sessions() == set()
    assert not bridges & set(_host_interfaces())


def test_plugging_a_container_forks_nothing_and_leaves_the_host_namespace_as_it_was(
    driver: LabDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork of this threaded process can deadlock in the child (a lab once stuck for an
    hour at its first container, in pyroute2's NetNS): links are plugged without one, and
    the netlink thread, which visits each container's namespace, comes back to the host's."""

    def no_fork() -> int:
        raise AssertionError("forked while plugging links")

    monkeypatch.setattr(os, "fork", no_fork)
    scenario = load_scenario(TEST_SCENARIOS / "links-lab")[0]
    driver.create("tnofork", scenario, Access(new_keypair().public, "candidat", "pw-links"))
    assert {"eth1", "lan2"} <= set(_sh("tnofork", "a", "ls /sys/class/net").stdout.split())
    bridges = {p.bridge for node in ports(INSTANCE, "tnofork", scenario).values() for p in node}
    assert bridges <= set(_host_interfaces())
    assert Links(INSTANCE).sessions() == {"tnofork"}  # listed from the host's namespace


def test_vm_links_carry_vlan_tags_and_meet_containers(driver: LabDriver) -> None:
    scenario = load_scenario(TEST_SCENARIOS / "links-vm")[0]
    keys = new_keypair()
    key = load_key(keys.private)
    session_id = "tlinksvm"
    nodes = driver.create(session_id, scenario, Access(keys.public, "candidat", "pw-links"))
    v1, v2 = (SSHTransport(nodes[n].address, key) for n in ("v1", "v2"))
    for node in ("v1", "v2"):
        wait_ready(nodes[node].address, key, 240)

    # Named by the scenario, in the VM's own kernel; nothing configured on them.
    shown = json.loads(v1.run("ip -j addr", 30).stdout)
    by_name = {link["ifname"]: link for link in shown}
    assert {"eth0", "eth1", "lan"} <= set(by_name), sorted(by_name)
    assert not by_name["lan"].get("addr_info") and not by_name["eth1"].get("addr_info")
    assert "default" not in v1.run("ip route", 30).stdout  # the lab's routes are the candidate's

    # 802.1Q across the trunk: VLAN 42 on both ends.
    for transport, last in ((v1, 1), (v2, 2)):
        done = transport.run(
            "ip link set eth1 up && ip link add link eth1 name eth1.42 type vlan id 42 && "
            f"ip addr add 10.42.0.{last}/24 dev eth1.42 && ip link set eth1.42 up",
            30,
        )
        assert done.ok, done.stdout + done.stderr
    assert v1.run("ping -c 3 -W 2 10.42.0.2", 30).ok
    # Untagged frames on the trunk do not reach VLAN 42's addresses.
    v1.run("ip addr add 10.43.0.1/24 dev eth1", 30)
    assert not v1.run("ping -c 2 -W 1 10.42.0.3", 30).ok

    # A container and a VM on one link.
    assert v1.run("ip link set lan up && ip addr add 10.77.0.1/24 dev lan", 30).ok
    _sh(session_id, "c", "ip addr add 10.77.0.2/24 dev eth1")
    assert _sh(session_id, "c", "ping -c 3 -W 2 10.77.0.1").returncode == 0
    v1.close()
    v2.close()


def test_vlans_in_containers_are_refused_in_one_line_on_a_host_without_8021q(
    service: Service,
) -> None:
    why = vlan_in_containers()
    folder = TEST_SCENARIOS / "vlan-containers"
    checked = praxis("scenario", "validate", "--host", str(folder))
    doctor = praxis("doctor")
    assert "802.1Q in containers" in doctor.stdout
    with service.client() as api:
        launch = api.post("/api/sessions", json={"scenario": "vlan-containers", "candidate": "X"})
    if why is None:  # a host whose kernel has 8021q runs it
        assert checked.returncode == 0, checked.stdout
        assert launch.status_code == 201, launch.text
        service.destroy_all()
        return
    assert checked.returncode == 1
    assert re.fullmatch(
        r".*scenario\.yaml:\d+: node sw needs 802\.1Q in a container: no 802\.1Q in the host .*",
        checked.stdout.strip(),
    ), checked.stdout
    assert launch.status_code == 422
    detail = launch.json()["detail"]
    assert "node sw needs 802.1Q" in detail and "\n" not in detail
    assert praxis("scenario", "test", "vlan-containers").returncode == 1


def test_drawn_parameters_differ_per_session_and_a_regrade_keeps_them(service: Service) -> None:
    with service.client() as api:
        made = [
            api.post("/api/sessions", json={"scenario": "links-lab", "candidate": name}).json()
            for name in ("Ada", "Bob")
        ]
    ada, bob = (service.wait(s["id"], "ready") for s in made)
    drawn = [(s["params"]["lan"], s["params"]["vlan"]) for s in (ada, bob)]
    assert drawn[0] != drawn[1]  # 1 chance in ~10^11 of the same draw
    lan = ipaddress.ip_network(ada["params"]["lan"])
    address = f"{next(lan.hosts())}/{lan.prefixlen}"
    # Ada's answer, written to survive the restart at the cut-off (systemd-networkd).
    network = f"[Match]\\nName=eth1\\n[Network]\\nAddress={address}\\n"
    done = _sh(
        ada["id"],
        "a",
        f"printf '{network}' > /etc/systemd/network/eth1.network && "
        "systemctl enable --now systemd-networkd",
    )
    assert done.returncode == 0, done.stderr
    with service.client() as api:
        for lab in (ada, bob):
            assert api.post(f"/api/sessions/{lab['id']}/end").status_code == 200
    for lab in (ada, bob):
        service.wait(lab["id"], "graded")
    with service.client() as api:
        first = api.get(f"/api/sessions/{ada['id']}/result").json()
        assert api.get(f"/api/sessions/{bob['id']}/result").json()["score"] == 0
        assert api.post(f"/api/sessions/{ada['id']}/regrade").status_code == 202
        service.wait(ada["id"], "graded")
        again = api.get(f"/api/sessions/{ada['id']}/result").json()
        stored = api.get(f"/api/sessions/{ada['id']}").json()["params"]
    assert first["score"] == again["score"] == 100, first
    assert address in again["criteria"][0]["message"]
    assert stored == ada["params"]
    service.destroy_all()


def test_links_work_from_a_thread_whose_event_loop_runs() -> None:
    """pyroute2 drives netlink with the calling thread's asyncio loop: a caller on a running
    loop (a browser test, an async handler) must still be able to list and remove links."""

    async def on_a_loop() -> set[str]:
        links = Links(INSTANCE)
        links.remove("tnolinks")
        return links.sessions()

    assert asyncio.run(on_a_loop()) == set()
