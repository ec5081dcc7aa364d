"""`praxis scenario test`: a real lab, the reference solution (or nothing), a grade."""

from __future__ import annotations

import secrets
import shlex
import time
from collections.abc import Callable

from graders.runner import GradeReport, grade
from graders.transport import SSHTransport, load_key, wait_ready
from labs.driver import Access, LabDriver
from labs.keys import new_keypair, new_password
from labs.scenario import Scenario

Say = Callable[[str], None]


class UnstableGrade(Exception):
    """The same lab graded twice gave different scores: a check depends on luck or time."""


def run_solution(
    scenario: Scenario, transports: dict[str, SSHTransport], params: dict[str, str], say: Say
) -> None:
    """Run each node's solution script as root, parameters as upper-case environment variables."""
    env = " ".join(f"{k.upper()}={shlex.quote(v)}" for k, v in params.items())
    for node, script in scenario.solution.items():
        start = time.monotonic()
        text = (scenario.folder / script).read_text(encoding="utf-8")
        result = transports[node].run(f"env {env} bash -s", timeout=900, stdin=text)
        if not result.ok:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"solution {script} on {node} exited {result.status}:\n{tail}")
        say(f"solution {script} on {node}: done in {time.monotonic() - start:.1f}s")


def test_scenario(
    driver: LabDriver,
    scenario: Scenario,
    blank: bool,
    say: Say,
    keep: bool = False,
    ready_timeout: float = 180,
) -> GradeReport:
    """Provision, optionally solve, grade, tear down. Raises on provisioning or solution failure."""
    session_id = "t" + secrets.token_hex(5)
    keys = new_keypair()
    params = {**scenario.parameters, **{name: new_password() for name in scenario.secrets}}
    key = load_key(keys.private)
    say(f"lab {session_id}: creating {len(scenario.nodes)} node(s)")
    try:
        start = time.monotonic()
        nodes = driver.create(session_id, scenario, Access(keys.public, "candidat", new_password()))
        for node in nodes.values():
            wait_ready(node.address, key, ready_timeout)
        say(f"lab {session_id}: ready in {time.monotonic() - start:.1f}s")
        transports = {name: SSHTransport(n.address, key) for name, n in nodes.items()}
        if not blank:
            run_solution(scenario, transports, params, say)
        addresses = {n: i.address for n, i in nodes.items()}
        report = grade(scenario, transports, addresses, params)
        say(f"graded in {report.duration_ms} ms; grading again to check it is stable")
        again = grade(scenario, transports, addresses, params)
        unstable = [
            (a.id, a.score, b.score)
            for a, b in zip(report.criteria, again.criteria, strict=True)
            if a.score != b.score
        ]
        if unstable:
            raise UnstableGrade(", ".join(f"{cid}: {x:g} then {y:g}" for cid, x, y in unstable))
        for transport in transports.values():
            transport.close()
        return report
    finally:
        if keep:
            say(f"lab {session_id} kept: `praxis reap` removes it")
        else:
            driver.destroy(session_id)
