"""Lab link benchmarks, as ratios against the raw tools measured in the same run.

    flock /tmp/praxis-it.lock .venv/bin/python bench/links.py [--rounds N] [--vlan-rounds M]

1. The links of a 10-node container topology (a switch-like node linked to the 9 others, and 3
   links between those: 12 links, 24 ports; debian-bookworm, NET_ADMIN):
   - `Links.make` + every node's attach, timed inside the lab driver's `create` (the nodes
     start meanwhile). Target < 1 s.
   - The same wiring on the same, booted containers of a lab made without links: `Links.make` +
     the attaches, against the raw tools doing the same work one command at a time (`ip link
     add … type bridge`, `sysctl` for the host side's silence, `ip link add … type veth peer
     …`, `ip link set … master … up`, `ip link set … netns PID`, `nsenter -t PID -n ip link
     set … name … addrgenmode none up`). Their order is swapped every round.
2. The cost of links on lab start: the driver's `create` of the lab with links against the
   same 10 containers without links, and until every node's grader key login.
3. The VLAN lab (scenarios/vlan-routing, or an equivalent built here if it is missing: VMs sw1
   and r1, containers pc1-pc3, 4 links): the driver's `create` split into containers + links
   and VMs defined and started, then ready (the grader's key login on every node, as the
   controller waits for it). VMs boot in ~25 s under TCG: M=2 rounds take ~2 minutes.
Rounds of 1-2 are interleaved, the order swapped every round. Everything is destroyed after,
and the script fails if an interface it made (pl-/pv- of its sessions, its raw ones) is left.
Hold the lock: it boots many nodes, and VMs.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libvirt
from pyroute2 import IPRoute

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.backends import lab_driver  # noqa: E402
from app.config import get_settings  # noqa: E402
from graders.transport import load_key, wait_ready  # noqa: E402
from labs.composite import CompositeDriver  # noqa: E402
from labs.driver import Access, NodeInfo  # noqa: E402
from labs.keys import KeyPair, new_keypair, new_password  # noqa: E402
from labs.links import Links, Port, ports  # noqa: E402
from labs.loader import load_scenario  # noqa: E402
from labs.scenario import Scenario  # noqa: E402
from labs.vm_images import load  # noqa: E402

INSTANCE = "bench-links"
HUB, LEAVES = "sw", [f"n{i}" for i in range(1, 10)]
CROSS = [("n1", "n2"), ("n3", "n4"), ("n5", "n6")]  # links between leaves, on their eth2
VLAN_FOLDER = ROOT / "scenarios" / "vlan-routing"
PC: dict[str, Any] = {"image": "debian-bookworm", "memory": "256M", "capabilities": ["NET_ADMIN"]}
READY_TIMEOUT = 240  # VMs under TCG, several booting at once


def scenario(sid: str, nodes: dict[str, dict[str, Any]], links: list[list[str]]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": sid,
            "title": {"fr": sid, "en": sid},
            "duration": "30m",
            "nodes": nodes,
            "links": [{"endpoints": pair} for pair in links],
            "criteria": [],
        }
    )


def topology(linked: bool) -> Scenario:
    """The 10 containers, with their 12 links or none."""
    links = [[f"{HUB}:eth{i}", f"{leaf}:eth1"] for i, leaf in enumerate(LEAVES, 1)]
    links += [[f"{a}:eth2", f"{b}:eth2"] for a, b in CROSS]
    return scenario("bench-links", dict.fromkeys([HUB, *LEAVES], PC), links if linked else [])


def vlan_lab() -> tuple[Scenario, str]:
    if (VLAN_FOLDER / "scenario.yaml").exists():
        return load_scenario(VLAN_FOLDER)[0], str(VLAN_FOLDER.relative_to(ROOT))
    vm = {"kind": "vm", "image": "debian-vm", "memory": "384M"}
    nodes = {"sw1": vm, "r1": vm, "pc1": PC, "pc2": PC, "pc3": PC}
    links = [["sw1:eth1", "r1:eth1"]] + [[f"sw1:eth{i + 1}", f"pc{i}:eth1"] for i in (1, 2, 3)]
    return scenario("bench-vlan", nodes, links), "built here (no scenarios/vlan-routing)"


# -- instruments -------------------------------------------------------------------------------
@dataclass
class Clock:
    """Time spent in chosen methods of live objects, summed per label until taken."""

    spent: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def watch(self, obj: object, method: str, label: str) -> None:
        inner = getattr(obj, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[label] += time.monotonic() - start

        setattr(obj, method, timed)

    def take(self) -> dict[str, float]:
        taken = dict(self.spent)
        self.spent.clear()
        return taken


def run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


def host_interfaces() -> dict[str, int]:
    """Name -> master's index (0: none) of every interface on the host."""
    with IPRoute() as ipr:
        return {
            link.get_attr("IFLA_IFNAME"): link.get_attr("IFLA_MASTER") or 0
            for link in ipr.get_links()
        }


def with_ports(bridges: Iterable[str]) -> set[str]:
    """These bridges and the interfaces plugged into them, as they are now."""
    found = host_interfaces()
    with IPRoute() as ipr:
        indexes = {i for b in bridges for i in ipr.link_lookup(ifname=b)}
    return {b for b in bridges if b in found} | {n for n, m in found.items() if m in indexes}


# -- labs --------------------------------------------------------------------------------------
@dataclass
class Lab:
    driver: CompositeDriver
    scenario: Scenario
    wiring: Scenario  # whose links the lab gets, by the driver or afterwards
    id: str = field(default_factory=lambda: "bench" + secrets.token_hex(4))
    keys: KeyPair = field(default_factory=new_keypair)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    created: float = 0.0
    ready: dict[str, float] = field(default_factory=dict)  # node -> seconds from the start

    def boot(self) -> None:
        """The driver's `create`, then every node's key login in parallel (the controller's
        wait), times counted from the `create` call."""
        access = Access(self.keys.public, "candidat", new_password())
        start = time.monotonic()
        self.nodes = self.driver.create(self.id, self.scenario, access)
        self.created = time.monotonic() - start
        key = load_key(self.keys.private)

        def login(node: NodeInfo) -> tuple[str, float]:
            wait_ready(node.address, key, READY_TIMEOUT)
            return node.name, time.monotonic() - start

        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            self.ready = dict(pool.map(login, self.nodes.values()))

    def pids(self) -> dict[str, int]:
        client = self.driver.containers.client
        return {
            n: client.containers.get(i.ref).attrs["State"]["Pid"] for n, i in self.nodes.items()
        }

    def ports(self) -> dict[str, list[Port]]:
        return ports(INSTANCE, self.id, self.wiring)

    def interfaces(self) -> set[str]:
        """What the platform's links made for this lab on the host, now."""
        return with_ports({p.bridge for node in self.ports().values() for p in node})


def unplug(pids: dict[str, int], node_ports: dict[str, list[Port]]) -> None:
    """Delete the nodes' link ends (a veth goes with its peer)."""
    for node, plist in node_ports.items():
        for port in plist:
            subprocess.run(["nsenter", "-t", str(pids[node]), "-n", "ip", "link", "del",
                            "dev", port.interface], capture_output=True, check=False)  # fmt: skip


def api_wiring(lab: Lab, pids: dict[str, int], made: set[str]) -> float:
    """`Links.make` + every attach on the booted containers of a lab without links."""
    links, node_ports = Links(INSTANCE), lab.ports()
    try:
        start = time.monotonic()
        links.make(lab.id, lab.wiring)
        for node, plist in node_ports.items():
            links.attach(lab.id, node, pids[node], plist)
        elapsed = time.monotonic() - start
        made.update(lab.interfaces())
        return elapsed
    finally:
        unplug(pids, node_ports)
        links.remove(lab.id)


def raw_wiring(lab: Lab, pids: dict[str, int], made: set[str]) -> float:
    """The same bridges, veth pairs, names and settings with the raw tools, one command each."""
    node_ports = lab.ports()
    tag = lab.id[-6:]
    plan = sorted({p.bridge for plist in node_ports.values() for p in plist})
    bridges = {bridge: f"rb{tag}{i:02d}" for i, bridge in enumerate(plan)}
    made.update(bridges.values())
    try:
        start = time.monotonic()
        for bridge in bridges.values():
            run("ip", "link", "add", bridge, "type", "bridge", "stp_state", "0",
                "forward_delay", "0")  # fmt: skip
            silence(bridge)
            run("ip", "link", "set", bridge, "alias", f"bench {lab.id}", "up")
        for n, (node, plist) in enumerate(node_ports.items()):
            pid = str(pids[node])
            for k, port in enumerate(plist):
                host, peer = f"rv{tag}{n}{k}", f"rp{tag}{n}{k}"
                made.update((host, peer))
                run("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
                silence(host)
                run("ip", "link", "set", host, "master", bridges[port.bridge], "up")
                run("ip", "link", "set", peer, "netns", pid)
                run("nsenter", "-t", pid, "-n", "ip", "link", "set", "dev", peer,
                    "name", port.interface, "addrgenmode", "none", "up")  # fmt: skip
        return time.monotonic() - start
    finally:
        unplug(pids, node_ports)
        for bridge in bridges.values():
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)


def silence(interface: str) -> None:
    """What labs.links does to the host's end: no IPv6 of its own, no ARP answers."""
    run("sysctl", "-q", "-e", "-w", f"net.ipv6.conf.{interface}.disable_ipv6=1",
        f"net.ipv4.conf.{interface}.arp_ignore=8")  # fmt: skip


# -- rounds ------------------------------------------------------------------------------------
@dataclass
class Figures:
    values: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, label: str, value: float) -> None:
        self.values[label].append(value)

    def median(self, label: str) -> float:
        return statistics.median(self.values[label])

    def line(self, label: str, text: str) -> None:
        values = self.values[label]
        spread = f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
        print(f"{text:60} median {statistics.median(values):7.3f}s  {spread}", flush=True)

    def ratio(self, text: str, top: str, bottom: str, target: str = "") -> None:
        print(f"{text:60} {self.median(top) / self.median(bottom):.2f}  {target}", flush=True)


def linked_round(driver: CompositeDriver, clock: Clock, figures: Figures, made: set[str]) -> None:
    lab = Lab(driver, topology(True), topology(True))
    try:
        clock.take()
        lab.boot()
        figures.add("linked wiring", clock.take().get("links", 0.0))
        figures.add("linked create", lab.created)
        figures.add("linked ready", max(lab.ready.values()))
        made.update(lab.interfaces())
    finally:
        driver.destroy(lab.id)


def plain_round(driver: CompositeDriver, figures: Figures, made: set[str], swap: bool) -> None:
    lab = Lab(driver, topology(False), topology(True))
    try:
        lab.boot()
        figures.add("plain create", lab.created)
        figures.add("plain ready", max(lab.ready.values()))
        pids = lab.pids()
        sides: list[tuple[str, Callable[[], float]]] = [
            ("api wiring", lambda: api_wiring(lab, pids, made)),
            ("raw wiring", lambda: raw_wiring(lab, pids, made)),
        ]
        for label, side in sides[::-1] if swap else sides:
            figures.add(label, side())
    finally:
        driver.destroy(lab.id)


def vlan_round(driver: CompositeDriver, lab_scenario: Scenario, clock: Clock, figures: Figures,
               made: set[str]) -> None:  # fmt: skip
    lab = Lab(driver, lab_scenario, lab_scenario)
    vms = {n for n, node in lab_scenario.nodes.items() if node.kind == "vm"}
    try:
        clock.take()
        lab.boot()
        spent = clock.take()
        figures.add("vlan create", lab.created)
        figures.add("vlan containers", spent.get("containers", 0.0))
        figures.add("vlan links", spent.get("links", 0.0))
        figures.add("vlan vms", spent.get("vms", 0.0))
        figures.add("vlan containers ready", max(t for n, t in lab.ready.items() if n not in vms))
        figures.add("vlan vms ready", max(t for n, t in lab.ready.items() if n in vms))
        figures.add("vlan ready", max(lab.ready.values()))
        made.update(lab.interfaces())
        around = neighbours(driver, lab.id)
    finally:
        driver.destroy(lab.id)
    each = ", ".join(f"{node} {lab.ready[node]:.1f}s" for node in sorted(lab.ready))
    print(f"VLAN round: ready {each}; {around}", flush=True)


def neighbours(driver: CompositeDriver, mine: str = "") -> str:
    """What else runs here (not the lab `mine`): on two cores, other labs and the load skew
    every figure."""
    containers = [c.name for c in driver.containers.client.containers.list()]
    domains = driver.vms.conn().listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    others = [n for n in [*containers, *(d.name() for d in domains)] if not mine or mine not in n]
    load_average = Path("/proc/loadavg").read_text().split()[0]
    return f"other running nodes: {len(others)} {others}, load average {load_average}"


# -- report ------------------------------------------------------------------------------------
def report_links(figures: Figures) -> None:
    print("\n10 containers, 12 links (24 ports)")
    figures.line("linked wiring", "links in the driver's create: make + attaches")
    figures.line("api wiring", "links on booted containers: make + attaches")
    figures.line("raw wiring", "links on booted containers: raw ip/sysctl/nsenter")
    figures.ratio("ratio Praxis / raw tools, same wiring", "api wiring", "raw wiring")
    figures.line("plain create", "lab create, 10 containers without links")
    figures.line("linked create", "lab create, 10 containers with 12 links")
    figures.ratio("ratio with / without links, create", "linked create", "plain create")
    figures.line("plain ready", "lab ready (every key login), without links")
    figures.line("linked ready", "lab ready (every key login), with links")
    figures.ratio("ratio with / without links, ready", "linked ready", "plain ready")


def report_vlan(figures: Figures, source: str) -> None:
    print(f"\nVLAN lab ({source}): 2 VMs, 3 containers, 4 links")
    figures.line("vlan containers", "containers + links (driver's create up to the VMs)")
    figures.line("vlan links", "  of which links: make + container attaches")
    figures.line("vlan vms", "VMs defined and started")
    figures.line("vlan create", "driver's create in all")
    figures.line("vlan containers ready", "containers ready (last key login)")
    figures.line("vlan vms ready", "VMs ready (last key login)")
    figures.line("vlan ready", "lab ready: every node's key login")


def left_behind(driver: CompositeDriver, made: set[str]) -> list[str]:
    problems = sorted(made & set(host_interfaces()))
    problems += [f"session {s}" for s in sorted(driver.sessions())]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vlan-rounds", type=int, default=2, help="0: no VLAN lab")
    args = parser.parse_args()
    settings = get_settings()
    if args.vlan_rounds and load(settings.vm_dir / "images", "debian-vm") is None:
        sys.exit("no debian-vm image: run `.venv/bin/praxis images build debian-vm` first")
    driver = lab_driver(settings, INSTANCE)
    assert isinstance(driver, CompositeDriver)
    clock = Clock()
    clock.watch(driver.containers.links, "make", "links")
    clock.watch(driver.containers.links, "attach", "links")
    clock.watch(driver.containers, "create", "containers")
    clock.watch(driver.vms, "create", "vms")
    figures, made = Figures(), set[str]()
    print(neighbours(driver), flush=True)
    try:
        if args.rounds:  # warm the caches for both sides alike
            linked_round(driver, clock, figures, made)
            figures = Figures()
        for index in range(args.rounds):
            swap = index % 2 == 1
            if swap:
                plain_round(driver, figures, made, swap)
            linked_round(driver, clock, figures, made)
            if not swap:
                plain_round(driver, figures, made, swap)
            last = {label: values[-1] for label, values in figures.values.items()}
            print(
                f"round {index + 1}: links in the driver's create {last['linked wiring']:.3f}s, "
                f"lab create with links {last['linked create']:.2f}s, "
                f"without {last['plain create']:.2f}s",
                flush=True,
            )
        lab_scenario, source = vlan_lab()
        for _ in range(args.vlan_rounds):
            vlan_round(driver, lab_scenario, clock, figures, made)
    finally:
        with contextlib.suppress(OSError):  # the libvirt driver leaves its instance's folder
            (settings.vm_dir / "disks" / INSTANCE).rmdir()
        print(f"at the end: {neighbours(driver)}", flush=True)
    if args.rounds:
        report_links(figures)
    if args.vlan_rounds:
        report_vlan(figures, source)
    if problems := left_behind(driver, made):
        sys.exit(f"left behind: {', '.join(problems)}")
    print(f"\nleft behind: nothing ({len(made)} interfaces made, none remain)")


if __name__ == "__main__":
    main()
