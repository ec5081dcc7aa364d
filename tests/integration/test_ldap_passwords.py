"""The LDAP exam on a real lab: OpenLDAP and the help desk's script, judged over LDAP from the
grader: a lab left with Debian's default rights and a journal readable by all scores in
between, exactly there. Its solution and its blank lab: tests/integration/test_exams.py."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import solved_with, verdicts

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


def test_loose_rights_lose_exactly_their_points(tmp_path: Path) -> None:
    loose = solved_with(tmp_path, "ldap-passwords", "ldap.sh", lambda text: text + LOOSE)
    scores = {c.id: c.score for c in loose.criteria}
    assert scores.pop("access-rights") == 0.75, verdicts(loose)
    assert scores.pop("tool-journal") == 0.75, verdicts(loose)
    assert set(scores.values()) == {1.0}, verdicts(loose)
    messages = {c.id: c.message for c in loose.criteria}
    assert "anonymous clients read" in messages["access-rights"]
    assert "/var/log/ldap-pass.log is missing, not root's or readable" in messages["tool-journal"]
