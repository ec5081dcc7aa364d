"""app.scenario_test, without a lab: the trial's steps against a recording driver."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.scenario_test
from app.config import Settings
from graders.report import CriterionResult, EvidenceItem, GradeReport, Status
from labs.driver import CANDIDATE_READY, Access, LabError, NodeInfo
from labs.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]


class Driver:
    """Makes one node per scenario node; the cut-off ends the trial (nothing after is asked)."""

    def __init__(self) -> None:
        self.destroyed: list[str] = []

    def create(self, session_id: str, scenario: object, access: Access) -> dict[str, NodeInfo]:
        return {"web": NodeInfo("web", "10.213.0.2", "c")}

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        raise LabError("the test stops here")

    def destroy(self, session_id: str) -> None:
        self.destroyed.append(session_id)


def test_a_trial_waits_for_what_a_session_waits_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's image writes the package proxy's setting just after sshd starts: a trial
    that ran its solution at the first login met apt without its proxy on a busy host."""
    scenario, _, problems = load_scenario(ROOT / "tests/integration/scenarios/quick")
    assert scenario is not None, problems
    probes: list[str] = []

    def wait_ready(address: str, key: object, timeout: float, probe: str = "exit 0") -> float:
        probes.append(probe)
        return 0.0

    monkeypatch.setattr(app.scenario_test, "wait_ready", wait_ready)
    driver = Driver()
    with pytest.raises(LabError, match="stops here"):
        app.scenario_test.test_scenario(
            driver,  # type: ignore[arg-type]
            Settings(),
            scenario,
            blank=True,
            say=lambda _: None,
        )
    assert probes == [CANDIDATE_READY]
    assert len(driver.destroyed) == 1


def test_two_gradings_that_differ_show_both_verdicts_and_their_evidence() -> None:
    def report(score: float, message: str, output: str) -> GradeReport:
        evidence = [
            EvidenceItem(node="web", command="hostname", status=0, output="web", duration_ms=1),
            EvidenceItem(node="web", command="virsh list", status=0, output=output, duration_ms=1),
        ]
        steady = CriterionResult(
            id="name", title={"fr": "n"}, referential=None, weight=1, score=1,
            status="passed", message="exit status 0", evidence=evidence[:1],
        )  # fmt: skip
        status: Status = "passed" if score == 1 else "partial"
        shaky = CriterionResult(
            id="vm", title={"fr": "v"}, referential=None, weight=1, score=score,
            status=status, message=message, evidence=evidence,
        )  # fmt: skip
        return GradeReport(criteria=[steady, shaky], duration_ms=5)

    first = report(1, "exit status 0; srv is running", " srv running")
    second = report(0.5, "exit status 0; srv: no state after the restart", "")
    assert app.scenario_test.differences(first, first) == ""
    assert app.scenario_test.differences(first, second).splitlines() == [
        "vm: 1 (passed) then 0.5 (partial)",
        "  finding: srv is running",
        "     then: srv: no state after the restart",
        "  on web: virsh list",
        "    first:  status 0:  srv running",
        "    second: status 0: ",
    ]
