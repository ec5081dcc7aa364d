"""Network labs in the scenario model: links reported at their own line, the nodes' netmiko
device type and kernel needs, and the JSON Schema editors see for them."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from app.catalog import validate
from app.schema import scenario_schema
from labs.scenario import Endpoint, Scenario

HEAD = """\
id: {id}
title: {{fr: "Réseau"}}
duration: 1h
"""
CRITERIA = """\
criteria:
  - id: a
    title: {fr: "a"}
    check: {type: command, node: sw1, run: "true"}
"""


def folder(tmp_path: Path, body: str, name: str = "net") -> Path:
    """A scenario folder: `body` goes between the head (3 lines) and the criteria."""
    path = tmp_path / name
    path.mkdir()
    (path / "scenario.yaml").write_text(HEAD.format(id=name) + body + CRITERIA)
    (path / "instructions.fr.md").write_text("# Sujet\n")
    return path


def problems(path: Path) -> list[str]:
    scenario, found = validate(path)
    assert scenario is None, "expected the scenario to be refused"
    prefix = str(path / "scenario.yaml") + ":"
    return [str(p).removeprefix(prefix) for p in found]


def test_a_network_lab_loads_with_its_links_device_types_and_needs(tmp_path: Path) -> None:
    body = """\
nodes:
  sw1: {image: debian-bookworm, device_type: linux, needs: [8021q]}
  r1: {kind: vm, image: debian-vm, device_type: linux}
  pc1: {image: debian-bookworm}
links:
  - endpoints: [sw1:eth1, r1:eth1]
  - endpoints: [sw1:eth2, pc1:eth1]
"""
    scenario, found = validate(folder(tmp_path, body))
    assert found == [] and scenario is not None
    assert scenario.links[0].endpoints == (
        Endpoint(node="sw1", interface="eth1"),
        Endpoint(node="r1", interface="eth1"),
    )
    assert scenario.interfaces("sw1") == ["eth1", "eth2"]
    assert scenario.nodes["sw1"].needs == ["8021q"] and scenario.nodes["pc1"].needs == []
    assert scenario.nodes["r1"].device_type == "linux" and scenario.nodes["pc1"].device_type is None
    # Shown as written: a dump (the API, the examiners' pages) reads like the file.
    assert scenario.model_dump()["links"][1] == {"endpoints": ("sw1:eth2", "pc1:eth1")}


def test_each_bad_link_is_reported_at_its_own_line(tmp_path: Path) -> None:
    body = """\
nodes:
  sw1: {image: debian-bookworm}
  pc1: {image: debian-bookworm}
links:
  - endpoints: [sw1:eth1, pc1:eth1]
  - endpoints: [sw1:eth2, pc2:eth1]
  - endpoints:
      - pc1:eth2
      - sw1:eth1
"""
    assert problems(folder(tmp_path, body)) == [
        "9: links.1.endpoints.1: link pc2:eth1: no node named 'pc2'",
        "12: links.2.endpoints.1: link sw1:eth1: that interface is already in another link",
    ]


@pytest.mark.parametrize(
    ("ends", "message"),
    [
        ("[sw1:eth0, pc1:eth1]", "links.0.endpoints.0: 'sw1:eth0': eth0 is the node's own"),
        ("[sw1:eth1, pc1:lo]", "links.0.endpoints.1: 'pc1:lo': lo is the node's own"),
        ("[sw1:eth1, pc1]", "links.0.endpoints.1: 'pc1' is not node:interface"),
        ("[sw1:eth1, 'pc1:Eth1']", "links.0.endpoints.1: 'pc1:Eth1' is not node:interface"),
        ("[sw1:eth1, pc1:averyverylongname]", "'pc1:averyverylongname' is not node:interface"),
        ("[{node: sw1, interface: eth0}, pc1:eth1]", "links.0.endpoints.0: {'node': 'sw1'"),
        ("[sw1:eth1, sw1:eth2]", "links.0: sw1:eth1 and sw1:eth2: a link joins two different"),
        ("[sw1:eth1]", "links.0.endpoints: a link has two ends"),
        ("[sw1:eth1, pc1:eth1, pc1:eth2]", "links.0.endpoints: a link has two ends"),
    ],
)
def test_malformed_endpoints_are_refused_where_they_are(
    tmp_path: Path, ends: str, message: str
) -> None:
    body = f"""\
nodes:
  sw1: {{image: debian-bookworm}}
  pc1: {{image: debian-bookworm}}
links:

  - endpoints: {ends}
"""
    found = problems(folder(tmp_path, body))
    assert len(found) == 1 and found[0].startswith("9: "), found
    assert message in found[0], found


def test_device_type_is_one_of_netmikos_with_close_names_suggested(tmp_path: Path) -> None:
    body = """\
nodes:
  sw1: {image: debian-bookworm, device_type: linx}
"""
    (found,) = problems(folder(tmp_path, body))
    assert found.startswith("5: nodes.sw1.device_type: unknown netmiko device type 'linx'")
    assert "did you mean linux" in found and "cisco_ios" in found


def test_a_vm_has_its_own_kernel_so_needs_is_refused_there(tmp_path: Path) -> None:
    body = """\
nodes:
  sw1: {image: debian-bookworm}
  r1:
    kind: vm
    image: debian-vm
    needs: [8021q]
  pc1: {image: debian-bookworm, needs: [vlan]}
"""
    assert problems(folder(tmp_path, body)) == [
        "6: nodes.r1: needs is for container nodes: a VM has its own kernel (8021q works there)",
        "10: nodes.pc1.needs.0: Input should be '8021q'",
    ]


def test_links_survive_a_round_trip_through_their_dump() -> None:
    data = {
        "id": "net",
        "title": {"fr": "x"},
        "duration": "1h",
        "nodes": {"a": {"image": "i"}, "b": {"image": "i"}},
        "links": [{"endpoints": ["a:eth1", "b:eth1"]}],
        "criteria": [],
    }
    scenario = Scenario.model_validate(data)
    assert Scenario.model_validate(scenario.model_dump(exclude_unset=True)) == scenario


SCHEMA = scenario_schema()


def schema_accepts(endpoints: list[object]) -> bool:
    document = yaml.safe_load(HEAD.format(id="net") + CRITERIA) | {
        "nodes": {"sw1": {"image": "i"}, "r1": {"image": "i"}},
        "links": [{"endpoints": endpoints}],
    }
    try:
        jsonschema.validate(document, SCHEMA)
    except jsonschema.ValidationError:
        return False
    return True


def test_the_schema_shows_an_endpoint_as_node_colon_interface() -> None:
    assert schema_accepts(["sw1:eth1", "r1:eth10"])
    assert schema_accepts(["sw1:eth00", "r1:lo1"])  # only eth0 and lo themselves are taken
    for wrong in (
        ["sw1:eth0", "r1:eth1"],
        ["sw1:lo", "r1:eth1"],
        ["sw1", "r1:eth1"],
        [{"node": "sw1", "interface": "eth1"}, "r1:eth1"],
        ["sw1:eth1"],
    ):
        assert not schema_accepts(wrong), wrong


def test_the_schema_knows_draw_device_type_and_needs() -> None:
    text = HEAD.format(id="net") + CRITERIA
    base = yaml.safe_load(text) | {
        "nodes": {"sw1": {"image": "i", "device_type": "linux", "needs": ["8021q"]}}
    }
    good = {
        "vlan": {"range": [10, 99], "distinct": "vlans"},
        "lan": {"subnet": "172.16.0.0/12", "prefix": 24, "distinct": "lans"},
        "site": {"choice": ["paris", "lyon"]},
    }
    jsonschema.validate(base | {"draw": good}, SCHEMA)
    for wrong in (
        {"vlan": {"range": [10, 99], "choice": ["a"]}},
        {"lan": {"subnet": "172.16.0.0/12"}},
        {"lan": {"prefix": 24}},
        {"Vlan": {"range": [1, 2]}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(base | {"draw": wrong}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(base | {"nodes": {"sw1": {"image": "i", "needs": ["vlan"]}}}, SCHEMA)
