"""Read a scenario folder into a `Scenario`, reporting every problem as `file:line: what`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import ValidationError

from labs.referential import load_referential
from labs.scenario import Scenario

SCENARIO_FILE = "scenario.yaml"
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ScenarioError(Exception):
    """A scenario folder that cannot be used; `problems` lists all that is wrong."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Document:
    """Parsed YAML plus the line of every key and item, to point errors at the file."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int:
        """The line of the deepest part of `loc` found in the file (pydantic adds union tags)."""
        best, prefix = 1, cast(Loc, ())
        for part in loc:
            if (*prefix, part) in self.lines:
                prefix = (*prefix, part)
                best = self.lines[prefix]
        return best

    def problem(self, loc: Iterable[str | int], message: str) -> Problem:
        return Problem(self.path, self.line_of(loc), message)


def _plain(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            if isinstance(key, (dict, list)):
                raise ScenarioError(
                    [
                        Problem(
                            Path(key_node.start_mark.name),
                            key_node.start_mark.line + 1,
                            "a value starting with '{' or '[' must be quoted, e.g. \"{{ name }}\"",
                        )
                    ]
                )
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _plain(value_node, (*loc, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def read_yaml(path: Path) -> Document:
    """Parse a YAML file keeping line numbers. Raises ScenarioError on syntax errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(path, 1, f"cannot read: {exc}")]) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ScenarioError([Problem(path, line, f"YAML syntax: {exc.problem}")]) from exc
    doc = Document(path, None)
    try:
        doc.data = _plain(root, (), doc.lines) if root is not None else None
    except ScenarioError as exc:
        raise ScenarioError([Problem(path, p.line, p.message) for p in exc.problems]) from exc
    return doc


def describe(loc: Loc, kind: str, message: str) -> str:
    """A pydantic error in an instructor's words."""
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    where = ".".join(str(p) for p in loc)
    text = message.removeprefix("Value error, ")
    return f"{where}: {text}" if where else text


def _cross_checks(scenario: Scenario, doc: Document) -> list[Problem]:
    """What pydantic cannot see: references between parts of the file, files beside it."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, criterion in enumerate(scenario.criteria):
        if criterion.id in seen:
            problems.append(
                doc.problem(("criteria", i, "id"), f"duplicate criterion id '{criterion.id}'")
            )
        seen.add(criterion.id)
        for dep in criterion.depends_on:
            if dep not in {c.id for c in scenario.criteria}:
                problems.append(
                    doc.problem(
                        ("criteria", i, "depends_on"), f"depends on unknown criterion '{dep}'"
                    )
                )
        key = "check" if criterion.check is not None else "checks"
        for j, check in enumerate(criterion.all_checks):
            loc: Loc = ("criteria", i, key) if key == "check" else ("criteria", i, key, j)
            node = check.get("node")
            if node is not None and node not in scenario.nodes:
                problems.append(doc.problem((*loc, "node"), f"unknown node '{node}'"))
    if scenario.id != folder_name(scenario):
        problems.append(
            doc.problem(
                ("id",), f"id '{scenario.id}' must be the folder's name '{folder_name(scenario)}'"
            )
        )
    problems += _cycles(scenario, doc)
    referential = load_referential()
    if scenario.referential is not None:
        if scenario.referential.block not in referential.codes():
            problems.append(
                doc.problem(
                    ("referential", "block"), f"unknown block '{scenario.referential.block}'"
                )
            )
        if scenario.referential.modality not in referential.modalities:
            problems.append(
                doc.problem(
                    ("referential", "modality"),
                    f"unknown modality '{scenario.referential.modality}'",
                )
            )
    for i, criterion in enumerate(scenario.criteria):
        if criterion.referential is not None and criterion.referential not in referential.codes():
            problems.append(
                doc.problem(
                    ("criteria", i, "referential"),
                    f"unknown referential code '{criterion.referential}' "
                    "(see labs/referential.yaml)",
                )
            )
    for node, script in scenario.solution.items():
        if node not in scenario.nodes:
            problems.append(doc.problem(("solution", node), f"unknown node '{node}'"))
        if not (scenario.folder / script).is_file():
            problems.append(doc.problem(("solution", node), f"solution file not found: {script}"))
    if not (scenario.folder / "instructions.fr.md").is_file():
        problems.append(Problem(doc.path, 1, "instructions.fr.md is missing beside the scenario"))
    return problems


def folder_name(scenario: Scenario) -> str:
    return scenario.folder.resolve().name


def _cycles(scenario: Scenario, doc: Document) -> list[Problem]:
    """Criteria that depend on themselves, directly or through others."""
    after = {c.id: set(c.depends_on) for c in scenario.criteria}
    problems = []
    for i, criterion in enumerate(scenario.criteria):
        seen, todo = set(), list(criterion.depends_on)
        while todo:
            current = todo.pop()
            if current == criterion.id:
                problems.append(
                    doc.problem(
                        ("criteria", i, "depends_on"),
                        f"'{criterion.id}' depends on itself through depends_on",
                    )
                )
                break
            if current not in seen:
                seen.add(current)
                todo.extend(after.get(current, ()))
    return problems


def load_scenario(folder: Path) -> tuple[Scenario, Document, list[Problem]]:
    """Load `folder/scenario.yaml`: the model, its document (for line numbers) and the problems
    between its parts (references, files beside it). Raises ScenarioError when the file cannot
    be read or does not have the scenario's shape, listing every problem found."""
    path = folder / SCENARIO_FILE
    if not path.is_file():
        raise ScenarioError([Problem(path, 1, "scenario.yaml not found")])
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ScenarioError(
            [Problem(path, 1, "the file must be a mapping of keys (id, title, ...)")]
        )
    try:
        scenario = Scenario.model_validate({**doc.data, "folder": folder})
    except ValidationError as exc:
        raise ScenarioError(
            [doc.problem(e["loc"], describe(e["loc"], e["type"], e["msg"])) for e in exc.errors()]
        ) from exc
    return scenario, doc, _cross_checks(scenario, doc)
