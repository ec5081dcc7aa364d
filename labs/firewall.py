"""Host firewall for lab bridges: a lab reaches nothing on the host but the package cache.

Docker's internal networks have no route out, but containers still reach every host service
listening on their gateway address or on 0.0.0.0. One chain, jumped to for every lab bridge
(`px-*`), drops that traffic; nodes with `internet: packages` get a rule for the cache port.
A scenario's links (`pl-*`, labs.links) carry frames between their two ends only: the host
bridges them, but neither answers nor routes there.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading

from labs.driver import LabError

CHAIN = "PRAXIS-LABS"
LINKS_CHAIN = "PRAXIS-LINKS"
BRIDGE_PREFIX = "px-"
LINK_PREFIX = "pl-"  # labs.links.BRIDGE_PREFIX
_lock = threading.Lock()


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("iptables")
    if binary is None:
        raise LabError("iptables is not installed: run `make setup`")
    done = subprocess.run([binary, "-w", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise LabError(f"iptables {' '.join(args)}: {done.stderr.strip()}")
    return done


_ensured = False


def ensure_chain() -> None:
    """Create the chain and its INPUT jump once per process; idempotent."""
    global _ensured
    with _lock:
        if _ensured:
            return
        if _iptables("-n", "-L", CHAIN, check=False).returncode != 0:
            _iptables("-N", CHAIN)
            _iptables(
                "-A", CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"
            )
            _iptables("-A", CHAIN, "-j", "DROP")
        for jump in (
            ("INPUT", "-i", f"{BRIDGE_PREFIX}+", "-j", CHAIN),
            ("INPUT", "-i", f"{LINK_PREFIX}+", "-j", "DROP"),
        ):
            if _iptables("-C", *jump, check=False).returncode != 0:
                _iptables("-I", *jump)
        _ensure_links_chain()
        _ensured = True


def _ensure_links_chain() -> None:
    """Bridged frames within a link pass (the engine's FORWARD policy drops by default and the
    host's bridge netfilter shows them to it); anything routed in or out of a link is dropped.
    Jumped to from DOCKER-USER, which the engine keeps first in FORWARD."""
    if _iptables("-n", "-L", LINKS_CHAIN, check=False).returncode != 0:
        _iptables("-N", LINKS_CHAIN)
        links = f"{LINK_PREFIX}+"
        bridged = ("-m", "physdev", "--physdev-is-bridged")
        _iptables("-A", LINKS_CHAIN, "-i", links, "-o", links, *bridged, "-j", "ACCEPT")
        _iptables("-A", LINKS_CHAIN, "-i", links, "-j", "DROP")
        _iptables("-A", LINKS_CHAIN, "-o", links, "-j", "DROP")
    # The host's connection tracking and NAT never see a link's frames: the engine's
    # masquerading would rewrite a candidate's addresses that fall in one of its networks
    # (172.17.0.0/16), and a candidate's traffic would fill the host's conntrack table.
    untracked = ("PREROUTING", "-i", f"{LINK_PREFIX}+", "-j", "CT", "--notrack")
    if _iptables("-t", "raw", "-C", *untracked, check=False).returncode != 0:
        _iptables("-t", "raw", "-I", *untracked)
    parent = (
        "DOCKER-USER"
        if _iptables("-n", "-L", "DOCKER-USER", check=False).returncode == 0
        else "FORWARD"
    )
    if _iptables("-C", parent, "-j", LINKS_CHAIN, check=False).returncode != 0:
        _iptables("-I", parent, "1", "-j", LINKS_CHAIN)


def _tag(session_id: str, instance: str) -> str:
    """The rule's comment: its session and the platform instance that owns it."""
    return f"praxis:{session_id}@{instance}"


def allow_cache(session_id: str, instance: str, bridge: str, address: str, port: int) -> None:
    """Let the node at `address` on the session's `bridge` reach the package cache. Both, not
    the address alone: a rule left behind by a platform that died (its database gone, so no
    reaper of its own) must open nothing to a later lab given the same address."""
    _accept(session_id, instance, bridge, "-s", address, "-p", "tcp", "--dport", str(port))


def allow_dhcp(session_id: str, instance: str, bridge: str) -> None:
    """Let DHCP requests from the session's bridge reach its dnsmasq (labs.vm_dhcp)."""
    _accept(session_id, instance, bridge, "-p", "udp", "--dport", "67")


def _accept(session_id: str, instance: str, bridge: str, *match: str) -> None:
    """Accept what comes in on the session's `bridge` and matches, tagged with its owner; once."""
    tag = _tag(session_id, instance)
    rule = ("-i", bridge, *match, "-m", "comment", "--comment", tag, "-j", "ACCEPT")
    with _lock:
        if _iptables("-C", CHAIN, *rule, check=False).returncode != 0:
            _iptables("-I", CHAIN, "1", *rule)


def forget(session_id: str) -> None:
    """Remove the session's rules; idempotent."""
    with _lock:
        if _iptables("-n", "-L", CHAIN, check=False).returncode != 0:
            return
        for line in _iptables("-S", CHAIN).stdout.splitlines():
            words = [w.strip('"') for w in shlex.split(line)]
            legacy = f"praxis:{session_id}"  # rules made before instances had ids
            if any(w == legacy or w.startswith(f"{legacy}@") for w in words):
                _iptables("-D", *shlex.split(line)[1:])


def sessions(instance: str) -> set[str]:
    """Session ids of this platform instance that still have rules."""
    if shutil.which("iptables") is None or _iptables("-n", "-L", CHAIN, check=False).returncode:
        return set()
    out = _iptables("-S", CHAIN).stdout
    tags = (word.strip('"') for word in out.split() if word.strip('"').startswith("praxis:"))
    return {
        tag.removeprefix("praxis:").rpartition("@")[0]
        for tag in tags
        if tag.endswith(f"@{instance}")
    }
