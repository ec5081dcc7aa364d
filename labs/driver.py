"""The one interface every lab backend implements, and what it hands back."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

from labs.scenario import Scenario

SESSION_LABEL = "praxis.session"
NODE_LABEL = "praxis.node"
INSTANCE_LABEL = "praxis.instance"  # which platform owns the object (its database's id)
# A container is ready once the candidate can log in too: the image's praxis-firstboot makes the
# account and the package proxy's setting after sshd starts (off the grader's way in) and
# removes this mark when it is done. A VM's image makes both before sshd.
CANDIDATE_READY = "test ! -e /run/praxis-account-pending"


def ready_probe(kind: str) -> str:
    """What says a node of this kind is ready, asked over the grader's SSH login (any shell's
    `exit 0` for a VM: it may run Windows). Sessions and trials wait for the same."""
    return CANDIDATE_READY if kind == "container" else "exit 0"


@dataclass(frozen=True)
class Access:
    """Secrets a lab is created with. Never logged (repr hides them)."""

    grader_public_key: str
    candidate_user: str
    candidate_password: str

    def __repr__(self) -> str:
        return f"Access(candidate_user={self.candidate_user!r}, secrets=<hidden>)"


@dataclass(frozen=True)
class NodeInfo:
    name: str
    address: str  # reachable from the platform host (grader, candidate access proxy)
    ref: str  # backend id (container id, domain uuid)
    disk: str = ""  # a VM's disk as frozen at the cut-off, for the grader (labs.libvirt_driver)


@dataclass(frozen=True)
class LabNetwork:
    """A session's network: its Linux bridge, where containers and VMs meet."""

    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: str


class LabError(Exception):
    """A lab could not be created or changed; the message says why, for an operator."""


class HostDown(LabError):
    """The lab's host does not answer: its lab is as the candidate left it, out of reach."""


class LabDriver(Protocol):
    def create(self, session_id: str, scenario: Scenario, access: Access) -> dict[str, NodeInfo]:
        """Create and start every node; idempotent (existing nodes are reused).

        Raises LabError. Returns node name -> NodeInfo once every node is started.
        """

    def prepare(self, session_id: str) -> None:
        """Make ahead what a session will need whatever its scenario (its network), so that
        `create` for that id is faster. Idempotent; `destroy` undoes it. Raises LabError."""

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        """Cut the candidate out before grading: lock their account, then restart every node
        from the host (`restart`: nothing they started survives, and what is graded is the
        configuration that survives a reboot) and wait for it to boot; without `restart`,
        end every process they hold. Returns the nodes as they are now (addresses may change);
        a node that is down is left as it is, to be graded as such."""

    def node_states(self, session_id: str) -> dict[str, str]:
        """Node name -> backend state ('running', 'exited', ...), for health displays."""

    def all_node_states(self) -> dict[str, dict[str, str]]:
        """Session id -> node name -> state, for every session, in one call (dashboards)."""

    def node_cause(self, session_id: str, node: str) -> str:
        """Why a node is not running, as a short code the pages word per language:
        `exit:<code>`, `oom`, `removed`, `state:<backend state>` or `unknown`, for the incident
        record. Never raises."""

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        """Start a node that is down, its disk kept, and wait for it to boot; `restart`: also
        restart one that runs (hung). Returns the node as it is now (its address may change).
        Raises LabError (the node was removed, or will not start)."""

    def destroy(self, session_id: str) -> None:
        """Remove every object of the session; idempotent, never raises for missing objects."""

    def sessions(self) -> set[str]:
        """Session ids that own at least one object on this backend (for the reaper)."""
