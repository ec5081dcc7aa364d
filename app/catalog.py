"""The scenarios an instance offers: folders under `scenarios_dir`, validated when loaded."""

from __future__ import annotations

from pathlib import Path

from app.errors import Invalid, NotFound
from graders.validate import check_problems
from labs.links import host_cannot
from labs.loader import Problem, ScenarioError, load_scenario
from labs.scenario import Scenario, tree_hash


def validate(folder: Path, host: bool = False) -> tuple[Scenario | None, list[Problem]]:
    """Every problem of a scenario folder at once: structure, references, checks; with
    `host`, also what this host lacks to run it."""
    try:
        scenario, doc, problems = load_scenario(folder)
    except ScenarioError as exc:
        return None, exc.problems
    problems += check_problems(scenario, doc)
    if host:
        lacking = host_cannot(scenario)
        problems += [doc.problem(("nodes", node, "needs"), why) for node, why in lacking.items()]
    problems.sort(key=lambda p: p.line)
    return (None if problems else scenario), problems


def _stamp(folder: Path) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((str(p), p.stat().st_mtime) for p in folder.rglob("*") if p.is_file()))


class Catalog:
    """Scenarios by id; a scenario is validated again only when one of its files changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, tuple[tuple[tuple[str, float], ...], Scenario]] = {}

    def ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/scenario.yaml"))

    def version(self, scenario_id: str) -> str:
        """A hash of the scenario's files: which version a candidate sat."""
        return tree_hash(self.root / scenario_id)

    def get(self, scenario_id: str) -> Scenario:
        """Raises NotFound, or Invalid listing the scenario's problems."""
        folder = self.root / scenario_id
        if "/" in scenario_id or not (folder / "scenario.yaml").is_file():
            raise NotFound(f"no scenario {scenario_id!r}; known: {', '.join(self.ids()) or 'none'}")
        stamp = _stamp(folder)
        cached = self._cache.get(scenario_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        scenario, problems = validate(folder)
        if scenario is None:
            raise Invalid("scenario is invalid:\n" + "\n".join(str(p) for p in problems))
        self._cache[scenario_id] = (stamp, scenario)
        return scenario
