"""graders.ldap_exercise without a directory: what counts as a strong password, and how a
criterion judges its part of the grading's one exercise (the real run: tests/integration)."""

from __future__ import annotations

import pytest

from graders.contract import CheckContext, CommandResult, Evidence, GraderError
from graders.exercise import Steps
from graders.ldap_exercise import Account, Exercise, exercise, strong


def test_a_strong_password_has_fourteen_characters_and_the_four_classes() -> None:
    assert strong("q7#Vt2mPx9!rLk4w")
    assert not strong("q7#Vt2mPx9!rL")  # 13 characters
    assert not strong("q7vt2mpx9!rlk4wz")  # no upper case
    assert not strong("Q7VT2MPX9!RLK4WZ")  # no lower case
    assert not strong("qa#VtbmPxc!rLkdw")  # no digit
    assert not strong("q7aVt2mPx9brLk4w")  # no special character
    assert not strong("q7 Vt2mPx9rLk4wA")  # a space is no special character


def test_a_criterion_scores_the_share_of_its_findings_with_their_evidence() -> None:
    seen = Evidence("ldap", "LDAP bind as uid=a (from the grader)", 0, "success", 3, "outside")
    done = Exercise(
        [Account("a", "uid=a")],
        Steps(evidence={"change": [seen], "forgot": []}, findings={
            "change": [(True, "the new password opens the account"),
                       (False, "the old password still opens the account")],
            "forgot": [(True, "forgot a: a new password printed")],
        }),
    )  # fmt: skip
    ctx = CheckContext({}, {}, {})
    result = done.judge(ctx, "change")
    assert (result.score, result.message) == (0.5, "the old password still opens the account")
    assert ctx.evidence == [seen]
    assert done.judge(CheckContext({}, {}, {}), "forgot").score == 1
    nothing = done.judge(CheckContext({}, {}, {}), "policy")
    assert nothing.score == 0 and "could not create an account" in nothing.message


def test_a_script_that_never_ends_is_run_once_per_grading_not_once_per_criterion() -> None:
    class Hung:
        calls = 0

        def run(self, command: str, timeout: float) -> CommandResult:
            Hung.calls += 1
            raise GraderError(f"no answer within {timeout:g}s")

    transport = Hung()
    params = {"base": "dc=colibri,dc=lan", "admin_password": "x"}
    for _ in range(3):  # three criteria of one grading
        ctx = CheckContext({"ldap": transport}, {"ldap": "127.0.0.1"}, params)
        with pytest.raises(GraderError, match="no answer within 10s"):
            exercise(ctx, "ldap")
    assert Hung.calls == 1
