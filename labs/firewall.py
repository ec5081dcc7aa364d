"""Host firewall for lab bridges: a lab reaches nothing on the host but the package cache.

Docker's internal networks have no route out, but containers still reach every host service
listening on their gateway address or on 0.0.0.0. One chain, jumped to for every lab bridge
(`px-*`), drops that traffic; nodes with `internet: packages` get a rule for the cache port.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading

from labs.driver import LabError

CHAIN = "PRAXIS-LABS"
BRIDGE_PREFIX = "px-"
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
        jump = ("INPUT", "-i", f"{BRIDGE_PREFIX}+", "-j", CHAIN)
        if _iptables("-C", *jump, check=False).returncode != 0:
            _iptables("-I", *jump)
        _ensured = True


def _tag(session_id: str) -> str:
    return f"praxis:{session_id}"


def allow_cache(session_id: str, address: str, port: int) -> None:
    with _lock:
        rule = (
            "-s",
            address,
            "-p",
            "tcp",
            "--dport",
            str(port),
            "-m",
            "comment",
            "--comment",
            _tag(session_id),
            "-j",
            "ACCEPT",
        )
        if _iptables("-C", CHAIN, *rule, check=False).returncode != 0:
            _iptables("-I", CHAIN, "1", *rule)


def forget(session_id: str) -> None:
    """Remove the session's rules; idempotent."""
    with _lock:
        if _iptables("-n", "-L", CHAIN, check=False).returncode != 0:
            return
        for line in _iptables("-S", CHAIN).stdout.splitlines():
            if f'"{_tag(session_id)}"' in line or f" {_tag(session_id)} " in f"{line} ":
                _iptables("-D", *shlex.split(line)[1:])


def sessions() -> set[str]:
    """Session ids that still have rules."""
    if shutil.which("iptables") is None or _iptables("-n", "-L", CHAIN, check=False).returncode:
        return set()
    out = _iptables("-S", CHAIN).stdout
    return {word.strip('"').removeprefix("praxis:") for word in out.split() if "praxis:" in word}
