"""One lab, several backends: containers on the Docker engine, VMs on libvirt, all on the
session's one network. The controller sees a single LabDriver; the backend of each node is
its `kind`, chosen here and nowhere else."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import libvirt

from labs.docker_driver import DockerDriver
from labs.driver import Access, LabError, NodeInfo
from labs.libvirt_driver import LibvirtDriver
from labs.links import ports
from labs.scenario import Scenario


class CompositeDriver:
    def __init__(self, containers: DockerDriver, vms: LibvirtDriver) -> None:
        self.containers, self.vms = containers, vms

    def create(self, session_id: str, scenario: Scenario, access: Access) -> dict[str, NodeInfo]:
        vm_nodes = {n: node for n, node in scenario.nodes.items() if node.kind == "vm"}
        containers = scenario.model_copy(
            update={"nodes": {n: v for n, v in scenario.nodes.items() if n not in vm_nodes}}
        )
        # The containers' side makes the session's network and its links' bridges.
        nodes = self.containers.create(session_id, containers, access)
        if vm_nodes:
            network = self.containers.lab_network(session_id)
            node_ports = ports(self.containers.instance, session_id, scenario)
            nodes |= self.vms.create(session_id, vm_nodes, access, network, node_ports)
        return nodes

    def prepare(self, session_id: str) -> None:
        self.containers.prepare(session_id)

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        with ThreadPoolExecutor(max_workers=1) as pool:
            containers = pool.submit(self.containers.freeze, session_id, access, restart)
            # A VM is always powered off and on again: from the host, only that stops what the
            # candidate left running in it.
            vms = self.vms.freeze(session_id, access.candidate_user)
            return containers.result() | vms

    def node_states(self, session_id: str) -> dict[str, str]:
        states = self.containers.node_states(session_id)
        if session_id in self.vms.sessions_on_disk():  # libvirt only for labs with VMs
            states |= self.vms.states(session_id).get(session_id, {})
        return states

    def all_node_states(self) -> dict[str, dict[str, str]]:
        merged = self.containers.all_node_states()
        if self.vms.sessions_on_disk():
            for session_id, nodes in self.vms.states().items():
                merged[session_id] = merged.get(session_id, {}) | nodes
        return merged

    def _is_vm(self, session_id: str, node: str) -> bool:
        return session_id in self.vms.sessions_on_disk() and node in self.vms.states(
            session_id
        ).get(session_id, {})

    def node_cause(self, session_id: str, node: str) -> str:
        if self._is_vm(session_id, node):
            return self.vms.node_cause(session_id, node)
        return self.containers.node_cause(session_id, node)

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        if self._is_vm(session_id, node):
            return self.vms.start_node(session_id, node, restart)
        return self.containers.start_node(session_id, node, restart)

    def destroy(self, session_id: str) -> None:
        errors = []
        for backend in (self.vms, self.containers):  # VMs first: they hold a port on the bridge
            try:
                backend.destroy(session_id)
            except LabError as exc:
                errors.append(str(exc))
        if errors:
            raise LabError("; ".join(errors))

    def sessions(self) -> set[str]:
        return self.containers.sessions() | self.vms.sessions()

    def console(self, session_id: str, node: str) -> tuple[libvirt.virConnect, libvirt.virDomain]:
        return self.vms.console(session_id, node)
