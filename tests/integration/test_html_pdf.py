"""The HTML→PDF exam on a real lab: the candidate's service (WeasyPrint, pikepdf) used by the
grader with documents made for each grading: a service that encrypts with RC4 and lets
WeasyPrint fetch local files loses exactly those points. Its solution and its blank lab:
tests/integration/test_exams.py."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.backends import lab_driver, trials_of
from app.config import Settings
from app.scenario_test import test_scenario as trial
from graders.report import GradeReport
from labs.loader import load_scenario
from tests.integration.conftest import ROOT

# The reference solution, careless twice: RC4, and WeasyPrint's own fetcher (file:// read).
CARELESS = [
    ("R=6)", "R=4, aes=False, metadata=False)"),
    ("url_fetcher=only_data", "url_fetcher=weasyprint.default_url_fetcher"),
]


def _verdicts(report: GradeReport) -> list[tuple[str, float, str]]:
    return [(c.id, c.score, c.message) for c in report.criteria]


def test_a_careless_service_loses_exactly_its_points(tmp_path: Path) -> None:
    folder = tmp_path / "html-pdf-service"
    shutil.copytree(ROOT / "scenarios" / "html-pdf-service", folder)
    solution = folder / "solution" / "pdf.sh"
    text = solution.read_text()
    for old, new in CARELESS:
        assert old in text
        text = text.replace(old, new)
    solution.write_text(text)
    scenario, _, problems = load_scenario(folder)
    assert scenario is not None, problems
    settings = Settings(data_dir=tmp_path / "data")
    driver = lab_driver(settings, trials_of("html-pdf-test"))

    careless = trial(driver, settings, scenario, blank=False, say=lambda _: None)
    scores = {c.id: c.score for c in careless.criteria}
    assert round(scores.pop("encrypted"), 4) == 0.6667, _verdicts(careless)
    assert scores.pop("no-local-files") == 0, _verdicts(careless)
    assert set(scores.values()) == {1.0}, _verdicts(careless)
