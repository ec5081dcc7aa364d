"""Which row each node goes in, and in what order: a layered layout from the most connected
node. The root (a switch, usually) has its neighbours one row below, theirs the next row, and
so on; a root with more neighbours than a row holds (ROW_CAP) gets half of them above it, so
that it sits in the middle. Rows are placed outwards from the root, each ordered by where its
placed neighbours are (fewer crossings); the scenario's order breaks ties.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from labs.scenario import Scenario

ROW_CAP: Final = 5
COL_GAP: Final = 24.0
Part = tuple[list[list[str]], int]  # a connected part's rows (top to bottom), the root's row


def neighbours(scenario: Scenario) -> dict[str, list[str]]:
    near: dict[str, list[str]] = {n: [] for n in scenario.nodes}
    for link in scenario.links:
        a, b = (e.node for e in link.endpoints)
        near[a] += [] if b in near[a] else [b]
        near[b] += [] if a in near[b] else [a]
    return near


def _part(root: str, near: dict[str, list[str]], seen: set[str]) -> Part:
    """The root's connected part as BFS layers; past ROW_CAP neighbours, the first half of them
    and what hangs from them go above the root."""
    layers, parent = [[root]], {root: root}
    seen.add(root)
    while True:
        layer = []
        for node in layers[-1]:
            for other in near[node]:
                if other not in seen:
                    seen.add(other)
                    parent[other] = node
                    layer.append(other)
        if not layer:
            break
        layers.append(layer)
    first = layers[1] if len(layers) > 1 else []
    above = set(first[: len(first) // 2]) if len(first) > ROW_CAP else set()
    for layer in layers[2:]:
        above |= {n for n in layer if parent[n] in above}
    up = [row for row in ([n for n in layer if n in above] for layer in layers[1:]) if row]
    down = [row for row in ([n for n in layer if n not in above] for layer in layers[1:]) if row]
    return [*reversed(up), [root], *down], len(up)


def parts_of(scenario: Scenario, near: dict[str, list[str]]) -> list[Part]:
    """Connected parts, the most connected root first; nodes without links in a last row."""
    order = list(scenario.nodes)
    degree = Counter(e.node for link in scenario.links for e in link.endpoints)
    parts: list[Part] = []
    seen: set[str] = set()
    for root in sorted((n for n in order if degree[n]), key=lambda n: -degree[n]):
        if root not in seen:
            parts.append(_part(root, near, seen))
    lonely = [n for n in order if not degree[n]]
    return parts + ([([lonely], 0)] if lonely else [])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def columns(
    parts: list[Part], near: dict[str, list[str]], widths: dict[str, float], order: list[str]
) -> dict[str, float]:
    """Each node's centre x, every row centred on x = 0."""
    x: dict[str, float] = {}
    for rows, root in parts:
        for i in sorted(range(len(rows)), key=lambda i: (abs(i - root), i < root)):
            row = sorted(
                rows[i],
                key=lambda n: (_mean([x[m] for m in near[n] if m in x]), order.index(n)),
            )
            left = -(sum(widths[n] for n in row) + COL_GAP * (len(row) - 1)) / 2
            for n in row:
                x[n] = left + widths[n] / 2
                left += widths[n] + COL_GAP
    return x
