"""Where everything goes, from the rows (`labs.topology.rows`): box widths, a port of its own
for each link along the edge that faces the other node, the rows' heights, the links (a link
between two nodes of one row runs over the row) and each end's interface name just clear of
its box. Deterministic: the scenario's order breaks every tie, no set's order is ever used.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

from labs.scenario import MANAGEMENT, Scenario
from labs.topology.rows import columns, neighbours, parts_of
from labs.topology.shapes import (
    BOLD_EM,
    BOX_HEIGHT,
    LABEL_HEIGHT,
    LABEL_SIZE,
    LINE,
    MARGIN,
    MONO_EM,
    NAME_SIZE,
    PAD,
    SMALL_SIZE,
    Box,
    Label,
    Layout,
    NodeShape,
    Text,
    Wire,
    clip,
    text_width,
)

WORDS: Final = {
    "fr": {
        "title": "Topologie du laboratoire",
        "vm": "VM",
        "container": "conteneur",
        "note": f"Non représenté : {MANAGEMENT}, le réseau d'administration de chaque machine",
        "nodes": "Machines :",
        "links": "Liens :",
    },
    "en": {
        "title": "Lab topology",
        "vm": "VM",
        "container": "container",
        "note": f"Not drawn: {MANAGEMENT}, every node's management network",
        "nodes": "Nodes:",
        "links": "Links:",
    },
}

TEXT_MAX: Final = 270.0  # a name's 31 characters fit; a longer image name is cut
LABEL_GAP: Final = 3.0  # between a box's edge and an interface name
LABEL_BAND: Final = LABEL_GAP + LABEL_HEIGHT
ROW_GAP: Final = 2 * LABEL_BAND + 20  # room for both ends' names
MAX_SLOPE: Final = 2.5  # rows move apart rather than links lie flat
ROUTE_BASE: Final = LABEL_BAND + 6  # how far above its row a link within the row runs
ROUTE_STEP: Final = 8.0

Side = Literal["top", "bottom"]


@dataclass(frozen=True)
class _End:
    link: int
    end: int  # 0 or 1
    node: str
    interface: str
    other: str


def _ends(scenario: Scenario) -> list[_End]:
    return [
        _End(i, k, e.node, e.interface, link.endpoints[1 - k].node)
        for i, link in enumerate(scenario.links)
        for k, e in enumerate(link.endpoints)
    ]


def _side(end: _End, row_of: dict[str, int]) -> Side:
    return "bottom" if row_of[end.other] > row_of[end.node] else "top"


def _label_width(interface: str) -> float:
    return text_width(interface, LABEL_SIZE, MONO_EM) + 6


def _widths(
    scenario: Scenario, lines: dict[str, tuple[str, str]], ends: list[_End], row_of: dict[str, int]
) -> dict[str, float]:
    """One width for all boxes (the widest text), more where an edge holds more interface
    names than fit side by side."""
    widest = max(
        max(text_width(name, NAME_SIZE, BOLD_EM), *(text_width(t, SMALL_SIZE) for t in lines[name]))
        for name in scenario.nodes
    )
    base = max(96.0, min(TEXT_MAX, widest) + 2 * PAD)
    pitch = max(_label_width(e.interface) for e in ends) + 8
    per_side = Counter((e.node, _side(e, row_of)) for e in ends)
    return {
        n: max(base, pitch * per_side[n, "top"], pitch * per_side[n, "bottom"])
        for n in scenario.nodes
    }


def _ports(
    ends: list[_End], row_of: dict[str, int], x: dict[str, float], widths: dict[str, float]
) -> dict[tuple[int, int], float]:
    """Where each end leaves its box (x): spread along the edge in the order of the other
    ends, so that links never leave from one point and their names stand apart."""
    by_side: dict[tuple[str, Side], list[_End]] = {}
    for e in ends:
        by_side.setdefault((e.node, _side(e, row_of)), []).append(e)
    ports = {}
    for (node, _), side_ends in by_side.items():
        side_ends.sort(key=lambda e: (x[e.other], e.link))
        step, left = widths[node] / len(side_ends), x[node] - widths[node] / 2
        for i, e in enumerate(side_ends):
            ports[e.link, e.end] = left + step * (i + 0.5)
    return ports


def _route_height(count: int) -> float:
    return ROUTE_BASE + ROUTE_STEP * (count - 1) if count else 0.0


def _tops(
    part_of_row: list[int],
    ends: list[_End],
    row_of: dict[str, int],
    ports: dict[tuple[int, int], float],
) -> list[float]:
    """Each row's top: rows far enough apart for both ends' names, for the links running over
    a row, and for slanted links not to lie flat."""
    within = Counter(
        row_of[e.node] for e in ends if e.end == 0 and row_of[e.other] == row_of[e.node]
    )
    spread: dict[int, float] = {}
    for e in ends:
        if e.end == 0 and abs(row_of[e.node] - row_of[e.other]) == 1:
            upper = min(row_of[e.node], row_of[e.other])
            dx = abs(ports[e.link, 0] - ports[e.link, 1])
            spread[upper] = max(spread.get(upper, 0.0), dx)
    tops = [MARGIN + _route_height(within[0])]
    for i in range(1, len(part_of_row)):
        gap = ROW_GAP if part_of_row[i] == part_of_row[i - 1] else ROW_GAP + 16
        routes = LABEL_BAND + _route_height(within[i]) + 8
        gap = max(gap, spread.get(i - 1, 0.0) / MAX_SLOPE, routes)
        tops.append(tops[-1] + BOX_HEIGHT + gap)
    return tops


def _label(interface: str, start: tuple[float, float], toward: tuple[float, float]) -> Label:
    """The name on the link, just clear of the box it leaves."""
    (px, py), (qx, qy) = start, toward
    along = LABEL_GAP + LABEL_HEIGHT / 2
    cx, cy = px + (qx - px) * along / abs(qy - py), py + math.copysign(along, qy - py)
    width = _label_width(interface)
    box = Box(cx - width / 2, cy - LABEL_HEIGHT / 2, width, LABEL_HEIGHT)
    return Label(box, Text(interface, cx, cy + LABEL_SIZE * 0.35, LABEL_SIZE, mono=True))


def _wires(
    scenario: Scenario,
    ends: list[_End],
    row_of: dict[str, int],
    ports: dict[tuple[int, int], float],
    tops: list[float],
) -> tuple[Wire, ...]:
    within: Counter[int] = Counter()
    wires = []
    for i, link in enumerate(scenario.links):
        a, b = ends[2 * i], ends[2 * i + 1]
        pa, pb = (
            (ports[i, e.end], tops[row_of[e.node]] + BOX_HEIGHT * (_side(e, row_of) == "bottom"))
            for e in (a, b)
        )
        points: tuple[tuple[float, float], ...] = (pa, pb)
        if row_of[a.node] == row_of[b.node]:
            row = row_of[a.node]
            over = tops[row] - ROUTE_BASE - ROUTE_STEP * within[row]
            within[row] += 1
            points = (pa, (pa[0], over), (pb[0], over), pb)
        labels = (_label(a.interface, pa, points[1]), _label(b.interface, pb, points[-2]))
        wires.append(Wire((str(link.endpoints[0]), str(link.endpoints[1])), points, labels))
    return tuple(wires)


def _centred(
    x: dict[str, float], widths: dict[str, float], least: float
) -> tuple[dict[str, float], float]:
    """x moved so that the picture is centred in its width (at least `least`, the note's)."""
    left = min(x[n] - widths[n] / 2 for n in x)
    right = max(x[n] + widths[n] / 2 for n in x)
    width = max(right - left, least) + 2 * MARGIN
    shift = width / 2 - (left + right) / 2
    return {n: v + shift for n, v in x.items()}, width


def _node(
    name: str, kind: Literal["container", "vm"], lines: tuple[str, str], box: Box
) -> NodeShape:
    centre, baseline = box.x + box.width / 2, box.y + PAD + NAME_SIZE * 0.95
    texts = [Text(name, centre, baseline, NAME_SIZE, bold=True)]
    for i, line in enumerate(lines):
        y = box.y + PAD + NAME_SIZE * LINE + SMALL_SIZE * (LINE * i + 0.95)
        texts.append(Text(line, centre, y, SMALL_SIZE, muted=True))
    return NodeShape(name, kind, box, tuple(texts))


def _description(
    scenario: Scenario, words: dict[str, str], lines: dict[str, tuple[str, str]]
) -> str:
    nodes = ", ".join(f"{n} ({', '.join(lines[n])})" for n in scenario.nodes)
    links = ", ".join(f"{a} — {b}" for a, b in (link.endpoints for link in scenario.links))
    return f"{words['nodes']} {nodes}. {words['links']} {links}."


def layout(scenario: Scenario, lang: str = "fr") -> Layout | None:
    """The scenario's picture, its words in `lang` (fr or en); None for a lab without links,
    whose list of machines says it all."""
    if not scenario.links:
        return None
    words = WORDS.get(lang, WORDS["fr"])
    near, ends = neighbours(scenario), _ends(scenario)
    parts = parts_of(scenario, near)
    part_of_row = [p for p, (rows, _) in enumerate(parts) for _ in rows]
    row_of = {n: i for i, row in enumerate(r for rows, _ in parts for r in rows) for n in row}
    lines = {
        name: (words[node.kind], clip(node.image, SMALL_SIZE, TEXT_MAX))
        for name, node in scenario.nodes.items()
    }
    widths = _widths(scenario, lines, ends, row_of)
    note_text = words["note"]
    x, width = _centred(
        columns(parts, near, widths, list(scenario.nodes)),
        widths,
        text_width(note_text, SMALL_SIZE),
    )
    ports = _ports(ends, row_of, x, widths)
    tops = _tops(part_of_row, ends, row_of, ports)
    nodes = tuple(
        _node(
            n,
            node.kind,
            lines[n],
            Box(x[n] - widths[n] / 2, tops[row_of[n]], widths[n], BOX_HEIGHT),
        )
        for n, node in scenario.nodes.items()
    )
    note = Text(note_text, MARGIN, tops[-1] + BOX_HEIGHT + 26, SMALL_SIZE, muted=True, start=True)
    return Layout(
        width=width,
        height=note.y + MARGIN,
        title=words["title"],
        description=_description(scenario, words, lines),
        nodes=nodes,
        wires=_wires(scenario, ends, row_of, ports, tops),
        note=note,
    )
