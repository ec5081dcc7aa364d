"""The LDAP exam on a real lab: OpenLDAP and the help desk's script, judged over LDAP from the
grader: a lab left with Debian's default rights and a journal readable by all scores in
between, exactly there. Its solution and its blank lab: tests/integration/test_exams.py."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.backends import lab_driver, trials_of
from app.config import Settings
from app.scenario_test import test_scenario as trial
from graders.report import GradeReport
from labs.loader import load_scenario
from tests.integration.conftest import ROOT

# Appended to the reference solution: anonymous clients read the people, the journal is
# readable by every user of the server.
LOOSE = """
ldapmodify -Q -Y EXTERNAL -H ldapi:/// <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcAccess
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
LDIF
chmod 0644 /var/log/ldap-pass.log
"""


def _verdicts(report: GradeReport) -> list[tuple[str, float, str]]:
    return [(c.id, c.score, c.message) for c in report.criteria]


def test_loose_rights_lose_exactly_their_points(tmp_path: Path) -> None:
    folder = tmp_path / "ldap-passwords"
    shutil.copytree(ROOT / "scenarios" / "ldap-passwords", folder)
    solution = folder / "solution" / "ldap.sh"
    solution.write_text(solution.read_text() + LOOSE)
    scenario, _, problems = load_scenario(folder)
    assert scenario is not None, problems
    settings = Settings(data_dir=tmp_path / "data")
    driver = lab_driver(settings, trials_of("ldap-passwords-test"))

    loose = trial(driver, settings, scenario, blank=False, say=lambda _: None)
    scores = {c.id: c.score for c in loose.criteria}
    assert scores.pop("access-rights") == 0.75, _verdicts(loose)
    assert scores.pop("tool-journal") == 0.75, _verdicts(loose)
    assert set(scores.values()) == {1.0}, _verdicts(loose)
    messages = {c.id: c.message for c in loose.criteria}
    assert "anonymous clients read" in messages["access-rights"]
    assert "/var/log/ldap-pass.log is missing, not root's or readable" in messages["tool-journal"]
