"""Validate a scenario's checks against the grader registry, and its placeholders against its
parameters, as `file:line: what` problems."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import ValidationError

from graders.runner import PLACEHOLDER, parse_check, placeholder
from labs.loader import Document, Problem, describe
from labs.params import session_params
from labs.scenario import Scenario

# Drawn values differ per session, their shape does not: one draw stands for all.
VALIDATION_SEED = "validate"


def check_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    known = session_params(scenario, VALIDATION_SEED)
    problems: list[Problem] = []
    for i, criterion in enumerate(scenario.criteria):
        key = "check" if criterion.check is not None else "checks"
        for j, raw in enumerate(criterion.all_checks):
            loc: tuple[str | int, ...] = ("criteria", i, key) + (() if key == "check" else (j,))
            for text in _bad_placeholders(str(raw), known, unknown_too=True):
                problems.append(doc.problem(loc, text))
            try:
                parse_check(raw, known)
            except ValidationError as exc:
                for error in exc.errors():
                    inner = error["loc"][1:]  # drop the union tag (the check type)
                    text = describe(inner, error["type"], error["msg"])
                    problems.append(
                        doc.problem((*loc, *inner), text if inner else f"check: {text}")
                    )
        for text in _bad_placeholders(str(criterion.title.model_dump()), known):
            problems.append(doc.problem(("criteria", i, "title"), text))
    problems += _file_problems(scenario, known)
    return problems


def _bad_placeholders(
    text: str, known: Mapping[str, str], unknown_too: bool = False
) -> Iterator[str]:
    """What is wrong with the placeholders of `text`. Unknown names are reported only where
    nothing but a parameter can be meant (checks); a subject may show `{{ }}` of its own."""
    for match in PLACEHOLDER.finditer(text):
        try:
            placeholder(match, known)
        except KeyError:
            if unknown_too:
                yield f"unknown parameter '{{{{ {match.group(1)} }}}}'"
        except ValueError as exc:
            yield f"'{match.group(0)}': {exc}"


def _file_problems(scenario: Scenario, known: Mapping[str, str]) -> list[Problem]:
    """Parts a parameter does not have in the subjects and solution scripts, which are rendered
    like the checks (the line is the placeholder's)."""
    paths = [scenario.folder / f"instructions.{lang}.md" for lang in ("fr", "en")]
    paths += [scenario.folder / script for script in scenario.solution.values()]
    problems = []
    for path in paths:
        if not path.is_file():
            continue  # the loader reports a missing solution; the English subject is optional
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in PLACEHOLDER.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for message in _bad_placeholders(match.group(0), known):
                problems.append(Problem(Path(path), line, message))
    return problems
