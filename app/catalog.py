"""The scenarios an instance offers: folders under `scenarios_dir`, validated when loaded."""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path

from app.errors import Invalid, NotFound
from graders.validate import check_problems
from labs.links import host_cannot
from labs.loader import Document, Problem, ScenarioError, load_scenario
from labs.rights import SAFE, SAFE_EXTRA, refused
from labs.scenario import Scenario, tree_hash


def validate(
    folder: Path, host: bool = False, capabilities: Collection[str] = SAFE
) -> tuple[Scenario | None, list[Problem]]:
    """Every problem of a scenario folder at once: structure, references, checks, node rights
    beyond `capabilities` (the platform's Settings.node_capabilities); with `host`, also what
    this host lacks to run it."""
    try:
        scenario, doc, problems = load_scenario(folder)
    except ScenarioError as exc:
        return None, exc.problems
    problems += check_problems(scenario, doc) + _rights_problems(scenario, doc, capabilities)
    if host:
        lacking = host_cannot(scenario)
        problems += [doc.problem(("nodes", node, "needs"), why) for node, why in lacking.items()]
    problems.sort(key=lambda p: p.line)
    return (None if problems else scenario), problems


def _rights_problems(
    scenario: Scenario, doc: Document, capabilities: Collection[str]
) -> list[Problem]:
    asked = {name: node.capabilities for name, node in scenario.nodes.items()}
    return [
        doc.problem(
            ("nodes", node, "capabilities", i),
            f"nodes.{node}.capabilities: {name} is not allowed on this platform (a scenario may "
            f"add {', '.join(sorted(SAFE_EXTRA))}; others need the operator's "
            "PRAXIS_ALLOWED_CAPABILITIES)",
        )
        for node, i, name in refused(asked, capabilities)
    ]


Stamp = tuple[tuple[str, float, int, int], ...]


def _stamp(folder: Path) -> Stamp:
    """What changes when a file below `folder` does: its name, time, mode and size (a stat
    each, far cheaper than reading them; os.walk, a third of pathlib's cost: the live tables
    ask for each subject's title at every poll)."""
    found = []
    for top, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(top, name)
            try:
                st = os.stat(path)
            except OSError:  # a dangling link: not a file
                continue
            if stat.S_ISREG(st.st_mode):
                found.append((path, st.st_mtime, st.st_mode, st.st_size))
    return tuple(sorted(found))


class Catalog:
    """Scenarios by id; a scenario is validated again only when one of its files changed."""

    def __init__(self, root: Path, capabilities: Collection[str] = SAFE) -> None:
        self.root = root
        self.capabilities = capabilities  # what nodes may ask (Settings.node_capabilities)
        self._cache: dict[str, tuple[Stamp, Scenario]] = {}
        self._versions: dict[str, tuple[Stamp, str]] = {}

    def ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/scenario.yaml"))

    def check(self, scenario_id: str) -> tuple[Scenario | None, list[Problem]]:
        """`validate` under this platform's policy, unconditionally (no cache)."""
        return validate(self.root / scenario_id, capabilities=self.capabilities)

    def version(self, scenario_id: str) -> str:
        """A hash of the scenario's files: which version a candidate sat. Hashed again only
        when a file changed (the pools ask for it every few seconds)."""
        folder = self.root / scenario_id
        stamp = _stamp(folder)
        cached = self._versions.get(scenario_id)
        if cached is None or cached[0] != stamp:
            cached = self._versions[scenario_id] = (stamp, tree_hash(folder))
        return cached[1]

    def get(self, scenario_id: str) -> Scenario:
        """Raises NotFound, or Invalid listing the scenario's problems."""
        folder = self.root / scenario_id
        if "/" in scenario_id or not (folder / "scenario.yaml").is_file():
            raise NotFound(f"no scenario {scenario_id!r}; known: {', '.join(self.ids()) or 'none'}")
        stamp = _stamp(folder)
        cached = self._cache.get(scenario_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        scenario, problems = self.check(scenario_id)
        if scenario is None:
            raise Invalid("scenario is invalid:\n" + "\n".join(str(p) for p in problems))
        self._cache[scenario_id] = (stamp, scenario)
        return scenario
