"""`praxis scenario test`: a real lab, the reference solution (or nothing), a grade, the same
freeze and grading path as an exam (app.grading), twice to prove the grade is stable."""

from __future__ import annotations

import secrets
import shlex
import time
from collections.abc import Callable
from ipaddress import IPv4Network

from app.config import Settings
from app.grading import grade_until_complete, grading_job
from graders.report import CriterionResult, GradeReport
from graders.runner import render
from graders.transport import SSHTransport, load_key, wait_ready
from graders.windows import encoded, ps_literal
from labs.driver import Access, LabDriver, LabError, NodeInfo, ready_probe
from labs.keys import new_keypair, new_password
from labs.links import host_cannot
from labs.params import session_params
from labs.scenario import Scenario

Say = Callable[[str], None]


class UnstableGrade(Exception):
    """The same lab graded twice gave different verdicts: a check depends on luck or time."""


def run_solution(
    scenario: Scenario, nodes: dict[str, NodeInfo], key: str, params: dict[str, str], say: Say
) -> None:
    """Run each node's solution script as root over SSH, as a candidate would, its `{{ }}`
    placeholders filled in and parameters as upper-case environment variables; a `.ps1` script
    in Windows PowerShell."""
    for node, script in scenario.solution.items():
        start = time.monotonic()
        text = render((scenario.folder / script).read_text(encoding="utf-8"), params)
        transport = SSHTransport(nodes[node].address, load_key(key))
        try:
            result = transport.run(_interpreter(script, params), timeout=900, stdin=text)
        finally:
            transport.close()
        if not result.ok:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"solution {script} on {node} exited {result.status}:\n{tail}")
        say(f"solution {script} on {node}: done in {time.monotonic() - start:.1f}s")


def _interpreter(script: str, params: dict[str, str]) -> str:
    """The command that runs a script read from its standard input."""
    if script.endswith(".ps1"):
        sets = "".join(f"$env:{k.upper()} = {ps_literal(v)}\n" for k, v in params.items())
        return encoded(sets + "& ([scriptblock]::Create([Console]::In.ReadToEnd()))\n")
    return (
        "env " + " ".join(f"{k.upper()}={shlex.quote(v)}" for k, v in params.items()) + " bash -s"
    )


def differences(first: GradeReport, second: GradeReport) -> str:
    """What differs between two gradings of one lab, for the instructor to find the unstable
    check: each differing criterion's two verdicts, the findings that changed and the
    evidence behind them, both times."""
    lines = []
    for a, b in zip(first.criteria, second.criteria, strict=True):
        if (a.score, a.status) == (b.score, b.status):
            continue
        lines.append(f"{a.id}: {a.score:g} ({a.status}) then {b.score:g} ({b.status})")
        for one, two in zip(a.message.split("; "), b.message.split("; "), strict=False):
            if one != two:
                lines += [f"  finding: {one}", f"     then: {two}"]
        if a.message.count("; ") != b.message.count("; "):
            lines += [f"  findings: {a.message}", f"      then: {b.message}"]
        lines += _evidence_differences(a, b)
    return "\n".join(lines)


def _evidence_differences(a: CriterionResult, b: CriterionResult) -> list[str]:
    def seen(c: CriterionResult) -> dict[tuple[str, str], str]:
        return {(e.node, e.command): f"status {e.status}: {e.output[:300]}" for e in c.evidence}

    first, second = seen(a), seen(b)
    lines = []
    for key in dict.fromkeys([*first, *second]):  # in the order they were asked
        if first.get(key) != second.get(key):
            node, command = key
            lines += [
                f"  on {node}: {command}",
                f"    first:  {first.get(key, 'not asked')}",
                f"    second: {second.get(key, 'not asked')}",
            ]
    return lines


def _say_incomplete(say: Say) -> Callable[[GradeReport, int], None]:
    """What could not be graded, for the instructor: a check that times out on a slow lab."""

    def incomplete(report: GradeReport, attempt: int) -> None:
        errors = [f"{c.id}: {c.message[:200]}" for c in report.criteria if c.status == "error"]
        say(f"grading {attempt} incomplete, graded again: " + "; ".join(errors))

    return incomplete


def test_scenario(
    driver: LabDriver,
    settings: Settings,
    scenario: Scenario,
    blank: bool,
    say: Say,
    keep: bool = False,
) -> GradeReport:
    """Provision, optionally solve, freeze, grade twice, tear down.

    Raises on provisioning or solution failure, UnstableGrade when the two grades differ."""
    lacking = host_cannot(scenario)
    if lacking:
        raise LabError("; ".join(lacking.values()))
    session_id = "t" + secrets.token_hex(5)
    keys = new_keypair()
    params = session_params(scenario, session_id, [IPv4Network(settings.lab_pool)])
    access = Access(keys.public, "candidat", new_password())
    say(f"lab {session_id}: creating {len(scenario.nodes)} node(s)")
    try:
        start = time.monotonic()
        nodes = driver.create(session_id, scenario, access)
        for name, node in nodes.items():  # as a session does: the account and proxy made too
            probe = ready_probe(scenario.nodes[name].kind)
            wait_ready(node.address, load_key(keys.private), settings.ready_timeout, probe=probe)
        say(f"lab {session_id}: ready in {time.monotonic() - start:.1f}s")
        if not blank:
            run_solution(scenario, nodes, keys.private, params, say)
        start = time.monotonic()
        nodes = driver.freeze(session_id, access, scenario.grading.restart)
        say(f"lab frozen in {time.monotonic() - start:.1f}s")
        rows = {
            n.name: {"ref": n.ref, "address": n.address, "disk": n.disk} for n in nodes.values()
        }
        job = grading_job(settings, scenario, rows, params, keys.private)
        incomplete = _say_incomplete(say)
        report = grade_until_complete(job, settings, incomplete)
        say(f"graded in {report.duration_ms} ms; grading again to check it is stable")
        changed = differences(report, grade_until_complete(job, settings, incomplete))
        if changed:
            raise UnstableGrade(f"the two gradings differ:\n{changed}")
        return report
    finally:
        if keep:
            say(f"lab {session_id} kept: `praxis reap {session_id}` removes it")
        else:
            driver.destroy(session_id)
