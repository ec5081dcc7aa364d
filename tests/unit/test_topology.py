"""The lab's topology drawn: one deterministic layout, drawn as SVG on the pages and with
reportlab in the PDF; every name shown and escaped, nothing overlapping, nothing fetched."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.api.deps import COOKIE
from app.auth import create_user, exam_code_hash, new_exam_code, sign_in_candidate
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import LabSession, Role, State
from app.reports import render_html, render_pdf
from labs.scenario import Scenario
from labs.topology import Layout, layout, render_svg
from tests.unit.test_api_roles import NoLabs
from tests.unit.test_reports import make_report

SVG = "{http://www.w3.org/2000/svg}"


def scenario(nodes: dict[str, dict[str, Any]], links: list[tuple[str, str]]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "net",
            "title": {"fr": "Réseau"},
            "duration": "1h",
            "nodes": nodes,
            "links": [{"endpoints": list(ends)} for ends in links],
            "criteria": [{"id": "c", "title": {"fr": "c"}, "check": {"type": "x"}}],
        }
    )


def vm(image: str = "debian-vm") -> dict[str, Any]:
    return {"kind": "vm", "image": image}


def container(image: str = "debian-bookworm") -> dict[str, Any]:
    return {"image": image}


def vlan_lab() -> Scenario:
    """Router on a stick: a switch, a router on its trunk, three PCs."""
    nodes = {"sw1": vm(), "r1": vm(), **{f"pc{i}": container() for i in (1, 2, 3)}}
    links = [("sw1:eth1", "r1:eth1"), *((f"sw1:eth{i + 1}", f"pc{i}:eth1") for i in (1, 2, 3))]
    return scenario(nodes, links)


def ten_nodes() -> Scenario:
    """A core switch, a router to a WAN host, two access switches linked to each other (a loop
    drawn within a row), four PCs and a server."""
    nodes = {
        "core": vm(),
        "r1": vm(),
        "sw1": vm(),
        "sw2": vm(),
        **{f"pc{i}": container() for i in (1, 2, 3, 4)},
        "srv": container(),
        "wan": container(),
    }
    links = [
        ("r1:eth1", "core:eth1"),
        ("core:eth2", "sw1:eth1"),
        ("core:eth3", "sw2:eth1"),
        ("sw1:eth2", "pc1:eth1"),
        ("sw1:eth3", "pc2:eth1"),
        ("sw2:eth2", "pc3:eth1"),
        ("sw2:eth3", "pc4:eth1"),
        ("core:eth4", "srv:eth1"),
        ("r1:eth2", "wan:eth1"),
        ("sw1:eth4", "sw2:eth4"),
    ]
    return scenario(nodes, links)


def star() -> Scenario:
    """A switch with nine hosts: more than a row holds."""
    nodes = {"sw1": vm(), **{f"pc{i}": container() for i in range(1, 10)}}
    return scenario(nodes, [(f"sw1:eth{i}", f"pc{i}:eth1") for i in range(1, 10)])


def triangle_and_lonely() -> Scenario:
    nodes = {"r1": vm(), "r2": vm(), "r3": vm(), "mgmt": container()}
    return scenario(nodes, [("r1:eth1", "r2:eth1"), ("r2:eth2", "r3:eth1"), ("r3:eth2", "r1:eth2")])


LABS = [vlan_lab, ten_nodes, star, triangle_and_lonely]


def picture(lab: Scenario, lang: str = "fr") -> Layout:
    drawn = layout(lab, lang)
    assert drawn is not None
    return drawn


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def interface_names(svg: str) -> list[str]:
    """The texts set in monospace: the links' interface names."""
    found = ET.fromstring(svg).iter(f"{SVG}text")
    return [t.text or "" for t in found if "Mono" in t.get("font-family", "")]


def test_a_lab_without_links_has_no_picture() -> None:
    assert layout(scenario({"web": container()}, []), "fr") is None


@pytest.mark.parametrize("make", LABS)
def test_same_scenario_same_picture(make: Any) -> None:
    first, second = picture(make()), picture(make())
    assert first == second
    assert render_svg(first) == render_svg(second)


@pytest.mark.parametrize("make", LABS)
def test_every_node_and_interface_is_named(make: Any) -> None:
    lab = make()
    svg = render_svg(picture(lab))
    for name in lab.nodes:
        assert name in texts(svg)
    ends = [e.interface for link in lab.links for e in link.endpoints]
    assert sorted(interface_names(svg)) == sorted(ends)  # one per link end, eth0 never drawn


@pytest.mark.parametrize("make", LABS)
def test_nothing_overlaps_and_everything_is_inside(make: Any) -> None:
    drawn = picture(make())
    boxes = [node.box for node in drawn.nodes]
    labels = [label.box for wire in drawn.wires for label in wire.labels]
    assert not [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
    assert not [(a, b) for a, b in combinations(labels, 2) if a.overlaps(b)]
    assert not [(a, b) for a in labels for b in boxes if a.overlaps(b)]
    for box in boxes + labels:
        assert box.x >= 0 and box.x + box.width <= drawn.width
        assert box.y >= 0 and box.y + box.height <= drawn.height


def test_links_end_on_their_nodes_edges() -> None:
    drawn = picture(vlan_lab())
    boxes = {node.name: node.box for node in drawn.nodes}
    for wire in drawn.wires:
        for (x, y), end in zip((wire.points[0], wire.points[-1]), wire.ends, strict=True):
            box = boxes[end.split(":")[0]]
            assert box.x < x < box.x + box.width
            assert y in (box.y, box.y + box.height)


def test_the_switch_sits_above_a_few_hosts_and_between_many() -> None:
    small = {n.name: n.box for n in picture(vlan_lab()).nodes}
    assert all(small["sw1"].y < small[n].y for n in ("r1", "pc1", "pc2", "pc3"))
    many = {n.name: n.box for n in picture(star()).nodes}
    above = [n for n in many if many[n].y < many["sw1"].y]
    below = [n for n in many if many[n].y > many["sw1"].y]
    assert len(above) == 4 and len(below) == 5


def test_odd_text_is_escaped() -> None:
    """Node names follow a strict pattern, an image name does not."""
    odd = scenario(
        {"a": container("<script>alert(1)</script> & \x07"), "b": vm('x" onload="y')},
        [("a:eth1", "b:eth1")],
    )
    svg = render_svg(picture(odd))
    root = ET.fromstring(svg)  # well-formed XML: a control character would break it
    assert not list(root.iter(f"{SVG}script")) and "<script>" not in svg
    assert "onload" not in root.attrib and all("onload" not in e.attrib for e in root.iter())
    shown = texts(svg)
    assert "<script>alert(1)</script> & ?" in shown  # shown as text, the bell as "?"


def test_a_long_image_name_is_cut_to_fit() -> None:
    drawn = picture(scenario({"a": container("x" * 200), "b": vm()}, [("a:eth1", "b:eth1")]))
    image = next(n for n in drawn.nodes if n.name == "a").lines[2].text
    assert image.endswith("…") and len(image) < 50


def test_accessible_and_self_contained() -> None:
    svg = render_svg(picture(vlan_lab(), "fr"))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "Topologie du laboratoire"
    assert "sw1:eth1 — r1:eth1" in (root.findtext(f"{SVG}desc") or "")
    assert float(root.get("width") or 0) == pytest.approx(float(root.get("viewBox", "").split()[2]))
    for forbidden in ("href", "<script", "url(", "@import", "<image", "<style", "<foreignObject"):
        assert forbidden not in svg
    english = ET.fromstring(render_svg(picture(vlan_lab(), "en")))
    assert english.findtext(f"{SVG}title") == "Lab topology"
    assert "conteneur" not in render_svg(picture(vlan_lab(), "en"))


def test_management_network_is_a_note() -> None:
    svg = render_svg(picture(vlan_lab(), "en"))
    assert "Not drawn: eth0, every node's management network" in texts(svg)
    assert "eth0" not in interface_names(svg)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_draws_the_topology() -> None:
    lab = ten_nodes()
    text = pdf_text(render_pdf(make_report(topology=picture(lab))))
    assert "Topologie du laboratoire" in text
    for name in lab.nodes:
        assert name in text
    assert "eth4" in text and "Non représenté : eth0" in text


def test_a_pdf_without_links_has_no_topology_section() -> None:
    assert "Topologie" not in pdf_text(render_pdf(make_report()))


def test_the_html_report_has_the_same_picture() -> None:
    drawn = picture(vlan_lab(), "en")
    page = render_html(replace(make_report(topology=drawn), lang="en"))
    assert render_svg(drawn) in page and "<h2>Lab topology</h2>" in page
    assert 'id="topology"' not in render_html(make_report())


# --- The pages ---------------------------------------------------------------------------------

NET_LAB = """\
id: net-lab
title: {fr: "Réseau", en: "Network"}
duration: 1h
nodes:
  sw1: {kind: vm, image: debian-vm}
  r1: {kind: vm, image: debian-vm}
  pc1: {image: debian-bookworm}
links:
  - {endpoints: [sw1:eth1, r1:eth1]}
  - {endpoints: [sw1:eth2, pc1:eth1]}
criteria:
  - id: ssh
    title: {fr: "SSH actif"}
    check: {type: service_active, node: sw1, service: ssh}
"""


@pytest.fixture
def client(tmp_path: Path) -> Any:
    folder = tmp_path / "scenarios" / "net-lab"
    folder.mkdir(parents=True)
    (folder / "scenario.yaml").write_text(NET_LAB)
    (folder / "instructions.fr.md").write_text("# Sujet\n\nConfigurez le réseau.\n")
    settings = Settings(data_dir=tmp_path, scenarios_dir=tmp_path / "scenarios")
    app = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        yield test_client


def shown_svg(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def test_the_candidate_sees_the_topology(client: TestClient) -> None:
    code = new_exam_code()
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        db.add(
            LabSession(
                id="s1",
                scenario="net-lab",
                candidate="Zoé",
                state=State.ready,
                exam_code_hash=exam_code_hash(code),
            )
        )
        db.flush()
        token, _ = sign_in_candidate(db, code)
    client.cookies.set(COOKIE, token)
    page = client.get("/exam/s1")
    assert page.status_code == 200, page.text
    svg = shown_svg(page.text)
    assert svg.findtext(f"{SVG}title") == "Topologie du laboratoire"
    assert {"sw1", "r1", "pc1", "eth1", "eth2"} <= {t.text for t in svg.iter(f"{SVG}text")}
    # Above the subject, open (the candidate may fold it): the first thing read about the lab.
    assert page.text.index('<details class="topology" id="topology" open>') < page.text.index(
        'id="instructions"'
    )


def test_the_examiner_sees_the_topology_before_grading(client: TestClient) -> None:
    with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
        token = create_user(db, "eve", Role.examiner)
        db.add(LabSession(id="s2", scenario="net-lab", candidate="Zoé", state=State.ready))
    client.cookies.set(COOKIE, token)
    client.cookies.set("lang", "en")
    page = client.get("/staff/sessions/s2")
    assert page.status_code == 200, page.text
    assert "<h2>Lab topology</h2>" in page.text
    assert shown_svg(page.text).findtext(f"{SVG}title") == "Lab topology"
