"""DHCP for firmware-boot VMs: a session's dnsmasq on its real bridge, asked by a real DHCP
client (dhclient) in a network namespace plugged into that bridge like a VM's tap."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labs import firewall, vm_dhcp
from labs.docker_driver import DockerDriver
from labs.driver import LabNetwork

INSTANCE = "it-vm-dhcp"


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for an init that may never reap it (a container's)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture
def lab() -> Iterator[tuple[str, LabNetwork]]:
    driver = DockerDriver(instance=INSTANCE)
    session_id = "d" + secrets.token_hex(6)
    try:
        firewall.ensure_chain()
        yield session_id, driver.lab_network(session_id)
    finally:
        driver.destroy(session_id)


@contextmanager
def guest(bridge: str, mac: str) -> Iterator[str]:
    """A namespace whose interface has `mac`, its veth peer a port of `bridge`."""
    tag = secrets.token_hex(3)
    ns, host_end = f"pxt-{tag}", f"pxh-{tag}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", host_end, "master", bridge)
        sh("ip", "link", "set", host_end, "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "address", mac)
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)  # the veth pair goes with it


def ask_lease(ns: str, folder: Path, wait: int) -> str:
    """Run dhclient once in `ns`; its lease file (empty when no server answered)."""
    conf, leases, pid = folder / "dhclient.conf", folder / "dhclient.leases", folder / "dhc.pid"
    conf.write_text(f"timeout {wait};\nretry 1;\n")
    leases.write_text("")
    files = ["-cf", str(conf), "-lf", str(leases), "-pf", str(pid)]
    subprocess.run(
        # -sf /bin/true: the lease is only recorded, no script touches the host's files.
        ["ip", "netns", "exec", ns, "dhclient", "-1", "-sf", "/bin/true", *files, "eth0"],
        check=False,
        capture_output=True,
        timeout=wait + 30,
    )
    if pid.exists():  # bound: it went to the background to renew; ours to stop
        subprocess.run(["kill", pid.read_text().strip()], check=False)
    return leases.read_text()


def test_a_guest_gets_its_fixed_address_only_once_the_firewall_lets_dhcp_in(
    lab: tuple[str, LabNetwork], tmp_path: Path
) -> None:
    session_id, network = lab
    folder = tmp_path / session_id
    mac, address = "52:54:00:ab:cd:01", str(network.subnet.network_address + 129)
    try:
        vm_dhcp.start(folder, network.bridge, network.gateway, {mac: address})
        pid = vm_dhcp.running(folder)
        vm_dhcp.start(folder, network.bridge, network.gateway, {mac: address})  # idempotent
        assert pid is not None and vm_dhcp.running(folder) == pid
        with guest(network.bridge, mac) as ns:
            assert "fixed-address" not in ask_lease(ns, tmp_path, wait=4)  # the host drops it
            firewall.allow_dhcp(session_id, INSTANCE, network.bridge)
            assert session_id in firewall.sessions(INSTANCE)
            lease = ask_lease(ns, tmp_path, wait=20)
    finally:
        vm_dhcp.stop(folder)
    assert re.search(rf"fixed-address {re.escape(address)};", lease), lease
    assert f"option routers {network.gateway};" in lease
    assert "domain-name-servers" not in lease
    assert vm_dhcp.running(folder) is None and not alive(pid)
    vm_dhcp.stop(folder)  # idempotent


def test_an_unknown_mac_gets_nothing_and_two_sessions_servers_coexist(
    lab: tuple[str, LabNetwork], tmp_path: Path
) -> None:
    session_id, network = lab
    other = DockerDriver(instance=INSTANCE)
    other_id = "d" + secrets.token_hex(6)
    first, second = tmp_path / "first", tmp_path / "second"
    try:
        other_net = other.lab_network(other_id)
        for sid, net in ((session_id, network), (other_id, other_net)):
            firewall.allow_dhcp(sid, INSTANCE, net.bridge)
        mac = "52:54:00:ab:cd:02"
        stale = str(network.subnet.network_address + 140)
        vm_dhcp.start(first, network.bridge, network.gateway, {mac: stale})
        # Other leases for the same session: a new server replaces the first.
        wanted = str(network.subnet.network_address + 130)
        vm_dhcp.start(first, network.bridge, network.gateway, {mac: wanted})
        theirs = str(other_net.subnet.network_address + 129)
        vm_dhcp.start(second, other_net.bridge, other_net.gateway, {mac: theirs})
        with guest(network.bridge, "52:54:00:ab:cd:99") as ns:
            assert "fixed-address" not in ask_lease(ns, tmp_path, wait=4)  # no dynamic range
        with guest(network.bridge, mac) as ns:
            assert f"fixed-address {wanted};" in ask_lease(ns, tmp_path, wait=20)
        with guest(other_net.bridge, mac) as ns:  # the same MAC, the other session's answer
            assert f"fixed-address {theirs};" in ask_lease(ns, tmp_path, wait=20)
    finally:
        vm_dhcp.stop(first)
        vm_dhcp.stop(second)
        other.destroy(other_id)
    assert other_id not in firewall.sessions(INSTANCE)  # destroy forgot its DHCP rule


def test_a_stale_pid_file_never_kills_another_process(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / vm_dhcp.PID_FILE).write_text(str(bystander.pid))
        assert vm_dhcp.running(tmp_path) is None
        vm_dhcp.stop(tmp_path)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
