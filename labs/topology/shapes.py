"""What a topology picture is made of, in CSS pixels (PDF points), y downwards: boxes, texts
with their baselines, polylines. Both renderers (SVG here, reportlab in the PDF report) only
draw these; every position is decided once, by `labs.topology.place`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MARGIN: Final = 10.0
PAD: Final = 8.0
NAME_SIZE: Final = 13.0
SMALL_SIZE: Final = 11.0  # a node's kind and image, the note
LABEL_SIZE: Final = 11.0  # interface names, monospace
LINE: Final = 1.3  # line height, in em
BOX_HEIGHT: Final = PAD + NAME_SIZE * LINE + 2 * SMALL_SIZE * LINE + PAD
LABEL_HEIGHT: Final = 15.0
# Em ratios that over-estimate the fonts drawn, DejaVu in the pages and in the PDF alike (Sans
# ~0.55 on average, bold ~0.62, monospace 0.6): text never leaves its box.
SANS_EM: Final = 0.62
BOLD_EM: Final = 0.66
MONO_EM: Final = 0.61


def text_width(text: str, size: float, em: float = SANS_EM) -> float:
    return len(text) * size * em


def clip(text: str, size: float, limit: float, em: float = SANS_EM) -> str:
    """Printable characters only (XML and the PDF's fonts refuse some), cut with "…" to fit
    `limit` pixels: an image name comes from a scenario file and may be anything."""
    shown = "".join(c if c.isprintable() else "?" for c in text)
    fits = int(limit // (size * em))
    return shown if len(shown) <= fits else shown[: max(fits - 1, 1)] + "…"


@dataclass(frozen=True)
class Box:
    x: float  # left
    y: float  # top
    width: float
    height: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class Text:
    text: str
    x: float  # the anchor: the text's middle, or its start when `start`
    y: float  # the baseline
    size: float
    bold: bool = False
    mono: bool = False
    muted: bool = False
    start: bool = False


@dataclass(frozen=True)
class NodeShape:
    name: str
    kind: Literal["container", "vm"]
    box: Box
    lines: tuple[Text, ...]  # the name, "VM" or "conteneur", the image


@dataclass(frozen=True)
class Label:
    """An interface's name on its link, over a white patch that hides the line under it."""

    box: Box
    text: Text


@dataclass(frozen=True)
class Wire:
    """A link: a polyline from its first end to its second, each end's interface named."""

    ends: tuple[str, str]  # "sw1:eth1", "r1:eth1"
    points: tuple[tuple[float, float], ...]
    labels: tuple[Label, Label]


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    title: str  # "Topologie du laboratoire"
    description: str  # the nodes and links in words, for screen readers
    nodes: tuple[NodeShape, ...]
    wires: tuple[Wire, ...]
    note: Text  # the management network, not drawn
