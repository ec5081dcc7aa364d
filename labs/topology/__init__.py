"""The lab's topology drawn from its scenario: nodes as boxes (name, VM or container, image),
links as lines with each end's interface name; the management interface (eth0), every node's,
only mentioned in a note. One layout (`layout`), two renderers: SVG here (`render_svg`), and
reportlab graphics in the PDF report, so that pages and report show the same picture."""

from labs.topology.place import WORDS, layout
from labs.topology.shapes import Box, Label, Layout, NodeShape, Text, Wire
from labs.topology.svg import render_svg

__all__ = ["WORDS", "Box", "Label", "Layout", "NodeShape", "Text", "Wire", "layout", "render_svg"]
