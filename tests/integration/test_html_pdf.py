"""The HTML→PDF exam on a real lab: the candidate's service (WeasyPrint, pikepdf) used by the
grader with documents made for each grading: a service that encrypts with RC4 and lets
WeasyPrint fetch local files loses exactly those points. Its solution and its blank lab:
tests/integration/test_exams.py."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import solved_with, verdicts

# The reference solution, careless twice: RC4, and WeasyPrint's own fetcher (file:// read).
CARELESS = [
    ("R=6)", "R=4, aes=False, metadata=False)"),
    ("url_fetcher=only_data", "url_fetcher=weasyprint.default_url_fetcher"),
]


def _careless(text: str) -> str:
    for old, new in CARELESS:
        assert old in text
        text = text.replace(old, new)
    return text


def test_a_careless_service_loses_exactly_its_points(tmp_path: Path) -> None:
    careless = solved_with(tmp_path, "html-pdf-service", "pdf.sh", _careless)
    scores = {c.id: c.score for c in careless.criteria}
    assert round(scores.pop("encrypted"), 4) == 0.6667, verdicts(careless)
    assert scores.pop("no-local-files") == 0, verdicts(careless)
    assert set(scores.values()) == {1.0}, verdicts(careless)
