"""The inter-VLAN routing exam on a real lab: a switch and a router as VMs (TCG), three PCs as
containers, joined by the scenario's links and graded over netmiko: a lab whose VLANs are
right but whose router does not route (solution-half/) scores in between with every routing
criterion at 0. Its solution and its blank lab: tests/integration/test_exams.py."""

from __future__ import annotations

from pathlib import Path

from app.backends import lab_driver, trials_of
from app.config import Settings
from app.scenario_test import test_scenario as trial
from graders.report import GradeReport
from labs.loader import load_scenario
from labs.scenario import Scenario
from tests.integration.conftest import ROOT

VLANS_RIGHT = {"access-ports", "trunk", "router-subinterfaces", "pc-addresses", "pc-gateways"}
ROUTING = {"forwarding", "inter-vlan-routing", "guest-filtering", "traceroute"}


def _scenario() -> Scenario:
    scenario, _, problems = load_scenario(ROOT / "scenarios" / "vlan-routing")
    assert scenario is not None, problems
    return scenario


def _scores(report: GradeReport) -> dict[str, float]:
    return {c.id: c.score for c in report.criteria}


def _verdicts(report: GradeReport) -> list[tuple[str, float, str, str]]:
    return [(c.id, c.score, c.status, c.message) for c in report.criteria]


def test_the_criteria_split_into_vlans_and_routing() -> None:
    """The half solution's expectations below name every criterion once."""
    assert {c.id for c in _scenario().criteria} == VLANS_RIGHT | ROUTING
    assert not VLANS_RIGHT & ROUTING


def test_vlans_without_routing_score_between(tmp_path: Path) -> None:
    scenario = _scenario()
    settings = Settings(data_dir=tmp_path / "data")
    driver = lab_driver(settings, trials_of("vlan-routing-test"))

    # Switch and PCs as in the reference solution; the router has its sub-interfaces and
    # addresses (each PC reaches its gateway) but forwards nothing and filters nothing.
    solution = dict(scenario.solution, r1="solution-half/r1.sh")
    half = trial(
        driver,
        settings,
        scenario.model_copy(update={"solution": solution}),
        blank=False,
        say=lambda _: None,
    )
    scores = _scores(half)
    assert all(scores[c] == 1 for c in VLANS_RIGHT), _verdicts(half)
    assert all(scores[c] == 0 for c in ROUTING), _verdicts(half)
    assert 0 < half.percent < 100
