"""Validate a scenario's checks against the grader registry, as `file:line: what` problems."""

from __future__ import annotations

from pydantic import ValidationError

from graders.runner import PLACEHOLDER, parse_check
from labs.loader import Document, Problem, describe
from labs.scenario import Scenario


def check_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    known = {**scenario.parameters, **dict.fromkeys(scenario.secrets, "x")}
    problems: list[Problem] = []
    for i, criterion in enumerate(scenario.criteria):
        key = "check" if criterion.check is not None else "checks"
        for j, raw in enumerate(criterion.all_checks):
            loc: tuple[str | int, ...] = ("criteria", i, key) + (() if key == "check" else (j,))
            for name in PLACEHOLDER.findall(str(raw)):
                if name not in known:
                    problems.append(doc.problem(loc, f"unknown parameter '{{{{ {name} }}}}'"))
            try:
                parse_check(raw, known)
            except ValidationError as exc:
                for error in exc.errors():
                    inner = error["loc"][1:]  # drop the union tag (the check type)
                    text = describe(inner, error["type"], error["msg"])
                    problems.append(
                        doc.problem((*loc, *inner), text if inner else f"check: {text}")
                    )
    return problems
