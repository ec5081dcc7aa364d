"""Container labs on a Docker engine: one internal bridge per session, capped nodes.

Everything created carries the `praxis.session` label, so destroy and the reaper find it
again after a crash. The engine is a parameter (a URL), so a lab host can be remote.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from labs import firewall, userns
from labs.cgroups import WAIT, give_systemd_its_tree
from labs.driver import (
    INSTANCE_LABEL,
    NODE_LABEL,
    SESSION_LABEL,
    Access,
    LabError,
    LabNetwork,
    NodeInfo,
)
from labs.images import image_tag
from labs.links import Links, Port, decode, encode, ports
from labs.rights import BASE_CAPS, SAFE, refused
from labs.scenario import Node, Scenario

LOG_CAP = {"max-size": "1m", "max-file": "2"}
NO_DISK_CAPS = (
    "the Docker engine cannot cap a node's disk (its data root needs quotas: btrfs, zfs or "
    "xfs with pquota); `make setup` puts it on the labs' pool"
)
DockerError = (docker.errors.DockerException, OSError)
log = logging.getLogger("praxis.labs")
STOP_TIMEOUT = 10  # systemd's clean shutdown, then SIGKILL
START_ATTEMPTS = 2  # a node whose init dies at once is started again, then reported
BOOT_TIMEOUT = 90  # services that take longer are graded as they are
REMOVAL_WAIT = 60  # a removal begun elsewhere (a stopped service's) is waited for this long
SUBNET_ATTEMPTS = 10  # another platform on the engine took the subnet drawn: draw again
LINKS_LABEL = "praxis.links"  # a node's lab links (labs.links.encode), plugged at each start
# PID 1 of a node waits (30 s at most) for what the driver does once the container runs, then
# becomes the image's init: its lab links plugged in (the node's own network configuration must
# find them at boot, as on real hardware) and, on cgroup v1, its cgroup tree (labs.cgroups).
WAIT_BEFORE_INIT = (
    "n=0; while [ $n -lt 600 ]; do m=; for i in $PRAXIS_LINKS; do "
    '[ -e "/sys/class/net/$i" ] || m=1; done; {cgroup}[ -z "$m" ] && break; '
    'n=$((n+1)); sleep 0.05; done; exec "$@"'
)


class DockerDriver:
    def __init__(
        self,
        base_url: str | None = None,
        pool: str = "10.213.0.0/16",
        cache_port: int = 3142,
        instance: str = "",
        capabilities: Collection[str] = SAFE,
    ) -> None:
        self.instance = instance  # the owning platform's id, on every object (see `sessions`)
        self.client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        self.base_url = base_url
        self.pool = ipaddress.ip_network(pool)
        self.cache_port = cache_port
        self._net_lock = threading.Lock()
        self.capabilities = capabilities  # what a node may have (Settings.node_capabilities)
        self._cgroup_v2: bool | None = None
        self.links = Links(instance)  # the session's L2 links: VMs join them too

    # -- create ---------------------------------------------------------------------------
    def create(self, session_id: str, scenario: Scenario, access: Access) -> dict[str, NodeInfo]:
        self._check_rights(scenario)
        try:
            firewall.ensure_chain()
            network = self._network(session_id)
            gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
            if scenario.links:
                self._links_here()
                self.links.make(session_id, scenario)
            node_ports = ports(self.instance, session_id, scenario)
            nodes = {}
            for name, node in scenario.nodes.items():
                container = self._container(
                    session_id, name, node, network, access, gateway, node_ports.get(name, [])
                )
                address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
                if node.internet == "packages":
                    firewall.allow_cache(
                        session_id, self.instance, _bridge(session_id), address, self.cache_port
                    )
                nodes[name] = NodeInfo(name, address, container.id or "")
            return nodes
        except docker.errors.APIError as exc:
            if "storage-opt" in str(exc):
                raise LabError(f"{NO_DISK_CAPS}: {exc.explanation}") from exc
            raise LabError(f"docker: {exc}") from exc
        except DockerError as exc:
            raise LabError(f"docker: {exc}") from exc

    def _check_rights(self, scenario: Scenario) -> None:
        """Raises LabError for a capability beyond the policy, before anything is made:
        validation refuses it already, but a scenario may come another way (a test, a setting
        changed since the catalog validated it)."""
        asked = {name: node.capabilities for name, node in scenario.nodes.items()}
        beyond = [f"{node}: {name}" for node, _, name in refused(asked, self.capabilities)]
        if beyond:
            raise LabError(f"capabilities not allowed on this platform: {', '.join(beyond)}")

    def prepare(self, session_id: str) -> None:
        try:
            firewall.ensure_chain()
            self._network(session_id)
        except DockerError as exc:
            raise LabError(f"docker: {exc}") from exc

    def lab_network(self, session_id: str) -> LabNetwork:
        """The session's network (made if missing), for VMs to join its bridge."""
        try:
            config = self._network(session_id).attrs["IPAM"]["Config"][0]
        except DockerError as exc:
            raise LabError(f"docker: {exc}") from exc
        subnet = ipaddress.ip_network(config["Subnet"])
        assert isinstance(subnet, ipaddress.IPv4Network)
        return LabNetwork(_bridge(session_id), subnet, config["Gateway"])

    def _labels(self, session_id: str, node: str | None = None) -> dict[str, str]:
        labels = {SESSION_LABEL: session_id, INSTANCE_LABEL: self.instance}
        return labels | ({NODE_LABEL: node} if node else {})

    def _network(self, session_id: str) -> Network:
        name = f"praxis-{session_id}"
        with self._net_lock:
            existing = self.client.networks.list(names=[name])
            if existing:
                return existing[0]
            attempts = 0
            while True:  # another platform on this engine may take the subnet first: pick again
                attempts += 1
                subnet = self._free_subnet()
                ipam = docker.types.IPAMConfig(
                    pool_configs=[
                        docker.types.IPAMPool(
                            subnet=str(subnet),
                            gateway=str(next(subnet.hosts())),
                            # The lower half: VMs on the same network take the upper one.
                            iprange=str(next(subnet.subnets(prefixlen_diff=1))),
                        )
                    ]
                )
                try:
                    return self.client.networks.create(
                        name,
                        driver="bridge",
                        internal=True,
                        ipam=ipam,
                        labels=self._labels(session_id),
                        options={"com.docker.network.bridge.name": _bridge(session_id)},
                    )
                except docker.errors.APIError as exc:
                    if "overlap" not in str(exc) or attempts == SUBNET_ATTEMPTS:
                        raise

    def _free_subnet(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """A free /24 of the pool, drawn at random: platforms sharing the engine that each took
        the lowest free one would collide again and again while both make labs."""
        used = set()
        for net in self.client.networks.list():
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
                if "Subnet" in cfg:
                    used.add(ipaddress.ip_network(cfg["Subnet"]))
        free = [s for s in self.pool.subnets(new_prefix=24) if not any(s.overlaps(u) for u in used)]
        if not free:
            raise LabError(f"no free /24 left in the lab address pool {self.pool}")
        return random.choice(free)

    def _container(
        self,
        session_id: str,
        name: str,
        node: Node,
        network: Network,
        access: Access,
        gateway: str,
        node_ports: list[Port],
    ) -> Container:
        cname = f"praxis-{session_id}-{name}"
        try:
            container = self.client.containers.get(cname)
        except docker.errors.NotFound:
            proxy = f"http://{gateway}:{self.cache_port}" if node.internet == "packages" else ""
            container = self.client.containers.create(
                image_tag(node.image),
                name=cname,
                hostname=name,
                detach=True,
                network=network.name,
                labels=self._labels(session_id, name)
                | ({LINKS_LABEL: encode(node_ports)} if node_ports else {}),
                # Read by the image's praxis-firstboot units; nothing here is secret from the
                # candidate (their own password, a public key, the cache's address).
                environment={
                    "PRAXIS_AUTHORIZED_KEY": access.grader_public_key,
                    "PRAXIS_CANDIDATE": f"{access.candidate_user}:{access.candidate_password}",
                    "PRAXIS_APT_PROXY": proxy,
                    "PRAXIS_LINKS": " ".join(p.interface for p in node_ports),
                },
                **self._limits(node),
                **self._init_options(),
                **(self._waits(node.image) if node_ports or self._cgroup_v1() else {}),
            )
        for _ in range(START_ATTEMPTS):
            if container.status != "running":
                container.start()
            container.reload()
            if container.status == "running":
                self._started(container)
                return container
        state = container.attrs["State"]
        raise LabError(
            f"node {name} stopped as soon as it started (exit {state.get('ExitCode')}"
            f"{': ' + state['Error'] if state.get('Error') else ''}); "
            "if many labs run, see `praxis doctor` (inotify instances)"
        )

    def _limits(self, node: Node) -> dict[str, Any]:
        return {
            "nano_cpus": int(node.cpus * 1e9),
            "mem_limit": node.memory_bytes,
            "memswap_limit": node.memory_bytes,
            "pids_limit": node.pids,
            "cap_drop": ["ALL"],
            "cap_add": sorted({*BASE_CAPS, *node.capabilities}),
            # The engine caps the writable layer (a quota: "Disk quota exceeded" inside), and
            # what PID 1 writes to the console: a node cannot fill the host's disk.
            "storage_opt": {"size": str(node.disk_bytes)},
            "log_config": {"type": "json-file", "config": LOG_CAP},
        }

    def _init_options(self) -> dict[str, Any]:
        """systemd as PID 1 without --privileged: a private /run, and a private cgroup tree
        (labs.cgroups). Raises LabError for a cgroup v1 engine on another host."""
        if self._cgroup_v1() and not self._local():
            raise LabError(f"a cgroup v1 engine must run on this host, not {self.base_url}")
        return {
            "tmpfs": {"/run": "", "/run/lock": ""},
            "stop_signal": "SIGRTMIN+3",
            "cgroupns": "private",
        }

    def _waits(self, image: str) -> dict[str, Any]:
        config = self.client.images.get(image_tag(image)).attrs["Config"]
        init = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        wait = WAIT_BEFORE_INIT.format(cgroup=WAIT if self._cgroup_v1() else "")
        return {"entrypoint": ["/bin/sh", "-c", wait, "praxis-wait"], "command": init}

    def _cgroup_v1(self) -> bool:
        if self._cgroup_v2 is None:
            self._cgroup_v2 = str(self.client.info().get("CgroupVersion")) == "2"
        return not self._cgroup_v2

    def _local(self) -> bool:
        return not self.base_url or self.base_url.startswith("unix://")

    def _links_here(self) -> None:
        """Links are plugged through the host's kernel: the engine must run on this host."""
        if not self._local():
            raise LabError(f"lab links need a Docker engine on this host, not {self.base_url}")

    def _started(self, container: Container) -> None:
        """What a node needs at each start, its namespaces being new: on cgroup v1 its cgroup
        tree writable for systemd, its lab links plugged in."""
        container.reload()
        pid = container.attrs["State"]["Pid"]
        if self._cgroup_v1() and container.attrs["HostConfig"].get("CgroupnsMode") == "private":
            give_systemd_its_tree(pid)
        label = container.labels.get(LINKS_LABEL)
        if label:
            self.links.attach(
                container.labels[SESSION_LABEL],
                container.labels.get(NODE_LABEL, ""),
                pid,
                decode(label),
            )

    # -- during and after the exam ----------------------------------------------------------
    def _containers(self, session_id: str | None = None) -> list[Container]:
        label = f"{SESSION_LABEL}={session_id}" if session_id else SESSION_LABEL
        return list(self.client.containers.list(all=True, filters={"label": label}))

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        containers = [c for c in self._containers(session_id) if c.status == "running"]
        with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
            list(pool.map(lambda c: self._freeze_node(c, access, restart), containers))
        nodes = {}
        for container in self._containers(session_id):
            name = container.labels.get(NODE_LABEL, "")
            networks: dict[str, Any] = container.attrs["NetworkSettings"]["Networks"] or {}
            address = next((n.get("IPAddress", "") for n in networks.values()), "")
            nodes[name] = NodeInfo(name, address, container.id or "")
        return nodes

    def _freeze_node(self, container: Container, access: Access, restart: bool) -> None:
        try:
            container.exec_run(["usermod", "--lock", "--expiredate", "1", access.candidate_user])
            if restart:
                container.restart(timeout=STOP_TIMEOUT)
                self._started(container)
                self._wait_booted(container)
            else:  # from the host, so that a replaced `pkill` inside cannot spare anything
                for pid in _candidate_processes(container):
                    _kill(pid)
        except (*DockerError, LabError) as exc:  # a broken node is graded as it is
            log.warning("freezing %s: %s", container.name, exc)

    def _wait_booted(self, container: Container) -> None:
        """Until systemd says the boot is over (running, degraded), at most BOOT_TIMEOUT s.
        Asked through a client with a short time-out: a node can be made to never answer."""
        client = (
            docker.DockerClient(base_url=self.base_url, timeout=5)
            if self.base_url
            else docker.from_env(timeout=5)
        )
        api = client.api
        deadline = time.monotonic() + BOOT_TIMEOUT
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(*DockerError):
                    exec_id = api.exec_create(container.id, ["systemctl", "is-system-running"])
                    state = api.exec_start(exec_id["Id"]).decode(errors="replace").strip()
                    if state in ("running", "degraded", "maintenance"):
                        return
                time.sleep(0.2)
        finally:
            client.close()

    def node_cause(self, session_id: str, node: str) -> str:
        try:
            state = self.client.containers.get(f"praxis-{session_id}-{node}").attrs["State"]
        except docker.errors.NotFound:
            return "removed"
        except DockerError as exc:
            log.warning("node %s of %s: no cause from the engine: %s", node, session_id, exc)
            return "unknown"
        if state.get("OOMKilled"):
            return "oom"
        if state.get("Status") == "exited" and isinstance(state.get("ExitCode"), int):
            return f"exit:{state['ExitCode']}"
        return f"state:{state.get('Status') or 'unknown'}"

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        try:
            container = self.client.containers.get(f"praxis-{session_id}-{node}")
            if container.status == "running" and restart:
                container.restart(timeout=STOP_TIMEOUT)
            elif container.status != "running":
                container.start()  # the same container: its writable layer, the disk, is kept
            container.reload()
            if container.status != "running":
                raise LabError(f"node {node} stopped again as soon as it started")
            self._started(container)
            self._wait_booted(container)
            container.reload()
        except DockerError as exc:
            raise LabError(f"docker: {exc}") from exc
        networks: dict[str, Any] = container.attrs["NetworkSettings"]["Networks"] or {}
        address = next((n.get("IPAddress", "") for n in networks.values()), "")
        return NodeInfo(node, address, container.id or "")

    def node_states(self, session_id: str) -> dict[str, str]:
        return self._states(f"{SESSION_LABEL}={session_id}").get(session_id, {})

    def all_node_states(self) -> dict[str, dict[str, str]]:
        return self._states(SESSION_LABEL)

    def _states(self, label: str) -> dict[str, dict[str, str]]:
        """One engine call, whatever the number of containers (the list, not an inspect each)."""
        states: dict[str, dict[str, str]] = {}
        try:
            for c in self.client.api.containers(all=True, filters={"label": label}):
                labels = c.get("Labels") or {}
                states.setdefault(labels[SESSION_LABEL], {})[labels.get(NODE_LABEL, "")] = c[
                    "State"
                ]
        except DockerError:
            pass
        return states

    def destroy(self, session_id: str) -> None:
        try:
            for container in self._containers(session_id):
                self._remove(container)
            for network in self.client.networks.list(
                filters={"label": f"{SESSION_LABEL}={session_id}"}
            ):
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()
        except DockerError as exc:
            raise LabError(f"docker: {exc}") from exc
        self.links.remove(session_id)
        firewall.forget(session_id)

    def _remove(self, container: Container) -> None:
        """Remove a container, or wait for the removal someone else began (the service that
        was stopped, the reaper, a test's clean-up): either way it is gone on return."""
        try:
            container.remove(force=True, v=True)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code != 409 or "already in progress" not in str(exc):
                raise
        deadline = time.monotonic() + REMOVAL_WAIT
        while time.monotonic() < deadline:
            try:
                self.client.containers.get(container.id or "")
            except docker.errors.NotFound:
                return
            time.sleep(0.2)
        raise LabError(f"container {container.name} still being removed after {REMOVAL_WAIT}s")

    def sessions(self) -> set[str]:
        """Sessions with objects of this platform instance only: another platform on the same
        engine (a test run, a staging copy) owns its own, and reaping must not see them."""
        mine = f"{INSTANCE_LABEL}={self.instance}"
        found = set(self._states(mine))
        found |= {
            n.attrs["Labels"][SESSION_LABEL]
            for n in self.client.networks.list(filters={"label": [SESSION_LABEL, mine]})
        }
        return found | firewall.sessions(self.instance) | self.links.sessions()


def _bridge(session_id: str) -> str:
    return f"{firewall.BRIDGE_PREFIX}{session_id[:12]}"


def _candidate_processes(container: Container) -> list[int]:
    """Host pids of what a candidate may have left running: anything with a terminal, and
    anything of a user account (uid 1000 and above) — background jobs, `nohup`, `setsid`."""
    top = container.top(ps_args="-eo pid,tty,uid")  # host uids: the node's through its map
    try:
        uids = userns.of_process(container.attrs["State"]["Pid"])
    except OSError:
        uids = userns.IDENTITY
    return [
        int(pid)
        for pid, tty, uid in top.get("Processes") or []
        if tty not in ("?", "-") or (uid.isdigit() and uids.inside(int(uid)) >= 1000)
    ]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
