"""Drawn parameters: one seed, one set of values; groups distinct; subnets clear of the
platform's pool; bad specs refused at their line; placeholders for a subnet's parts, rendered
in checks, subjects and solution scripts, and checked by `validate`."""

from __future__ import annotations

import random
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

import app.scenario_test
from app.auth import create_user
from app.catalog import validate
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import Role
from graders.contract import CommandResult
from graders.runner import render
from labs.driver import NodeInfo
from labs.loader import load_scenario
from labs.params import Draw, DrawError, draw_subnet, draw_values, session_params
from labs.scenario import Scenario

SEEDS = [f"{i:012x}" for i in range(400)]


def draws(**specs: dict[str, Any]) -> dict[str, Draw]:
    return {name: Draw.model_validate(spec) for name, spec in specs.items()}


def scenario_with(**specs: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "net",
            "title": {"fr": "x"},
            "duration": "1h",
            "nodes": {"pc1": {"image": "i"}},
            "parameters": {"site": "colibri"},
            "secrets": ["password"],
            "draw": specs,
            "criteria": [],
        }
    )


# -- drawing ---------------------------------------------------------------------------------


def test_a_seed_gives_the_same_values_every_time() -> None:
    specs = draws(
        vlan={"range": [10, 99]},
        lan={"subnet": "172.16.0.0/12", "prefix": 24},
        site={"choice": ["paris", "lyon", "lille"]},
    )
    assert draw_values(specs, "5f3c9a01b2de") == draw_values(specs, "5f3c9a01b2de")
    values = draw_values(specs, "5f3c9a01b2de")
    assert 10 <= int(values["vlan"]) <= 99 and values["site"] in {"paris", "lyon", "lille"}
    assert IPv4Network(values["lan"]).subnet_of(IPv4Network("172.16.0.0/12"))
    assert IPv4Network(values["lan"]).prefixlen == 24


def test_two_seeds_give_different_values() -> None:
    specs = draws(id={"range": [0, 1 << 32]}, lan={"subnet": "10.0.0.0/8", "prefix": 28})
    first, second = draw_values(specs, "a1"), draw_values(specs, "a2")
    assert first["id"] != second["id"] and first["lan"] != second["lan"]
    # and over many sessions, every value of a small range comes up
    seen = {draw_values(draws(v={"range": [1, 5]}), seed)["v"] for seed in SEEDS}
    assert seen == {"1", "2", "3", "4", "5"}


def test_a_distinct_group_never_repeats_a_value() -> None:
    specs = draws(
        a={"range": [10, 13], "distinct": "vlans"},
        b={"range": [10, 13], "distinct": "vlans"},
        c={"range": [10, 13], "distinct": "vlans"},
        d={"range": [10, 13], "distinct": "vlans"},
        free={"range": [10, 13]},  # not in the group: may equal any of them
        x={"choice": ["p", "q"], "distinct": "names"},
        y={"choice": ["q", "p", "p"], "distinct": "names"},
    )
    clashes_outside = 0
    for seed in SEEDS:
        values = draw_values(specs, seed)
        assert sorted(values[n] for n in "abcd") == ["10", "11", "12", "13"]
        assert {values["x"], values["y"]} == {"p", "q"}
        clashes_outside += values["free"] in {values["a"], values["b"]}
    assert clashes_outside > 0


def test_distinct_subnets_never_overlap_even_of_different_sizes() -> None:
    specs = draws(
        big={"subnet": "192.168.0.0/22", "prefix": 23, "distinct": "lans"},
        one={"subnet": "192.168.0.0/22", "prefix": 24, "distinct": "lans"},
        two={"subnet": "192.168.0.0/22", "prefix": 25, "distinct": "lans"},
        other={"subnet": "192.168.0.0/22", "prefix": 23},  # in no group
    )
    for seed in SEEDS:
        nets = [IPv4Network(v) for k, v in draw_values(specs, seed).items() if k != "other"]
        assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :]), nets
        assert all(n.subnet_of(IPv4Network("192.168.0.0/22")) for n in nets)


def test_subnets_avoid_the_platforms_pool() -> None:
    pool = IPv4Network("10.213.0.0/16")
    specs = draws(lan={"subnet": "10.212.0.0/15", "prefix": 24})
    for seed in SEEDS:
        assert not IPv4Network(draw_values(specs, seed, [pool])["lan"]).overlaps(pool)
    # the pool's only free block is found whatever the seed
    tight = draws(lan={"subnet": "10.212.0.0/15", "prefix": 16})
    assert {draw_values(tight, seed, [pool])["lan"] for seed in SEEDS[:50]} == {"10.212.0.0/16"}
    with pytest.raises(DrawError, match=r"draw lan: no /16 of 10\.213\.0\.0/16 is left"):
        draw_values(draws(lan={"subnet": "10.213.0.0/16", "prefix": 16}), "s", [pool])


def test_a_subnet_is_drawn_uniformly_among_the_free_blocks() -> None:
    rng = random.Random(1)
    pool, taken = IPv4Network("10.0.0.0/22"), [IPv4Network("10.0.1.0/24")]
    seen = {str(draw_subnet(rng, pool, 24, taken)) for _ in range(200)}
    assert seen == {"10.0.0.0/24", "10.0.2.0/24", "10.0.3.0/24"}


def test_a_session_has_its_parameters_fresh_secrets_and_drawn_values() -> None:
    scenario = scenario_with(vlan={"range": [10, 99]})
    first, second = session_params(scenario, "s1"), session_params(scenario, "s1")
    assert first["site"] == "colibri" and first["vlan"] == second["vlan"]
    assert len(first["password"]) == 12 and first["password"] != second["password"]


# -- bad specs -------------------------------------------------------------------------------

HEAD = 'id: net\ntitle: {fr: "x"}\nduration: 1h\nnodes:\n  pc1: {image: debian-bookworm}\n'


def write(tmp_path: Path, body: str, title: str = "a", run: str = "true", **files: str) -> Path:
    folder = tmp_path / "net"
    folder.mkdir()
    criteria = f'criteria:\n  - id: a\n    title: {{fr: "{title}"}}\n'
    check = f"    check: {{type: command, node: pc1, run: {run!r}}}\n"
    (folder / "scenario.yaml").write_text(HEAD + body + criteria + check)
    (folder / "instructions.fr.md").write_text(files.pop("subject", "# Sujet\n"))
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def problems(folder: Path) -> list[str]:
    scenario, found = validate(folder)
    assert scenario is None, "expected the scenario to be refused"
    return [str(p).removeprefix(str(folder) + "/") for p in found]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{range: [10, 99], choice: [a]}", "draw.v: give exactly one of range"),
        ("{distinct: g}", "draw.v: give exactly one of range"),
        ("{range: [99, 10]}", "draw.v: range [99, 10]: the first bound is above the second"),
        ("{range: [-1, 10]}", "draw.v.range.0: Input should be greater than or equal to 0"),
        ("{choice: []}", "draw.v.choice: List should have at least 1 item"),
        ("{subnet: 10.0.0.0/8}", "draw.v: a subnet needs its size"),
        ("{subnet: 10.0.0.1/8, prefix: 24}", "draw.v.subnet: Input is not a valid IPv4 network"),
        ("{subnet: 10.0.0.0/16, prefix: 8}", "draw.v: prefix /8 is larger than the subnet"),
        ("{subnet: 10.0.0.0/16, prefix: 33}", "draw.v.prefix: Input should be less than or equal"),
        ("{range: [1, 2], distinct: 'No'}", "draw.v.distinct: String should match pattern"),
        ("{range: [1, 2], sizes: 3}", "unknown key 'sizes'"),
    ],
)
def test_a_bad_spec_is_refused_at_its_line(tmp_path: Path, spec: str, message: str) -> None:
    found = problems(write(tmp_path, f"draw:\n  w: {{range: [1, 2]}}\n  v: {spec}\n"))
    assert len(found) == 1 and found[0].startswith("scenario.yaml:8: "), found
    assert message in found[0], found


def test_a_group_too_small_to_be_distinct_is_refused_at_load(tmp_path: Path) -> None:
    body = """\
draw:
  a: {range: [1, 2], distinct: vlans}
  b: {range: [1, 2], distinct: vlans}
  c: {range: [1, 2], distinct: vlans}
  lan_a: {subnet: 10.0.0.0/23, prefix: 24, distinct: lans}
  lan_b: {subnet: 10.0.0.0/22, prefix: 23, distinct: lans}
  name: {choice: [x], distinct: mixed}
  vlan: {range: [1, 9], distinct: mixed}
"""
    assert problems(write(tmp_path, body)) == [
        "scenario.yaml:7: draw.a.distinct: a can take 2 values and the 2 others of group "
        "'vlans' up to 2 of them: widen its pool",
        "scenario.yaml:10: draw.lan_a.distinct: lan_a can take 2 values and the 1 others of "
        "group 'lans' up to 2 of them: widen its pool",
        "scenario.yaml:12: draw.name.distinct: group 'mixed' mixes kinds (choice, range)",
    ]


def test_a_name_has_one_value(tmp_path: Path) -> None:
    body = """\
parameters: {site: x}
secrets: [password, site]
draw:
  password: {choice: [a]}
  vlan: {range: [1, 9]}
"""
    assert problems(write(tmp_path, body)) == [
        "scenario.yaml:7: secrets.1: 'site' is also in parameters",
        "scenario.yaml:9: draw.password: 'password' is also in parameters or secrets",
    ]


# -- placeholders ----------------------------------------------------------------------------

PARAMS = {"lan": "172.16.4.0/24", "p2p": "10.9.9.0/30", "vlan": "42", "site": "lyon"}


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("{{ lan }}", "172.16.4.0/24"),
        ("{{lan.1}}", "172.16.4.1"),
        ("{{ lan.10 }}/{{ lan.prefix }}", "172.16.4.10/24"),
        ("{{ lan.254 }}", "172.16.4.254"),
        ("{{ lan.mask }} {{ lan.net }}", "255.255.255.0 172.16.4.0"),
        ("{{ p2p.2 }}", "10.9.9.2"),
        ("eth1.{{ vlan }}", "eth1.42"),
        # parts a value does not have, and unknown names, stay as written
        ("{{ lan.255 }} {{ lan.0 }} {{ p2p.3 }}", "{{ lan.255 }} {{ lan.0 }} {{ p2p.3 }}"),
        (
            "{{ vlan.1 }} {{ site.mask }} {{ lan.last }}",
            "{{ vlan.1 }} {{ site.mask }} {{ lan.last }}",
        ),
        ("{{ other }} {{ other.1 }}", "{{ other }} {{ other.1 }}"),
    ],
)
def test_placeholders_fill_a_subnets_parts(text: str, rendered: str) -> None:
    assert render(text, PARAMS) == rendered


def test_validate_reports_parts_a_value_does_not_have_where_they_are(tmp_path: Path) -> None:
    body = """\
parameters: {site: lyon}
draw:
  lan: {subnet: 172.16.0.0/12, prefix: 24}
solution:
  pc1: solve.sh
"""
    folder = write(
        tmp_path,
        body,
        title="Adresse {{ lan.300 }}",
        run="ping -c1 {{ lan.1 }} && ping {{ site.1 }} {{ nothing }}",
        subject="# Plan\n\nPasserelle : {{ lan.1 }}\nMasque : {{ lan.mask }} {{ lan.size }}\n"
        "Ansible : {{ inventory_hostname }}\n",
        **{"solve.sh": "ip addr add {{ lan.10 }}/{{ lan.prefix }} dev eth1\n\n{{ site.net }}\n"},
    )
    assert sorted(problems(folder)) == [
        "instructions.fr.md:4: '{{ lan.size }}': unknown part .size "
        "(write .net, .prefix, .mask or a host number)",
        "scenario.yaml:13: '{{ lan.300 }}': host .300 is outside a /24 (hosts .1 to .254)",
        "scenario.yaml:14: '{{ site.1 }}': 'lyon' is not a subnet, it has no .1",
        "scenario.yaml:14: unknown parameter '{{ nothing }}'",
        "solve.sh:3: '{{ site.net }}': 'lyon' is not a subnet, it has no .net",
    ]


def loaded(folder: Path) -> Scenario:
    """The model of a scenario folder, whatever `validate` says of its placeholders."""
    return load_scenario(folder)[0]


# -- where sessions get them -----------------------------------------------------------------


class Recorder:
    """The SSH boundary: what a solution run would send to the node."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, address: str, key: object) -> None:
        pass

    def run(self, command: str, timeout: float, stdin: str = "") -> CommandResult:
        Recorder.sent.append((command, stdin))
        return CommandResult(0, "", "")

    def close(self) -> None:
        pass


def test_a_solution_script_is_sent_with_its_placeholders_filled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "solve.sh").write_text("ip addr add {{ lan.10 }}/{{ lan.prefix }} dev eth1\n")
    scenario = scenario_with(lan={"subnet": "172.16.0.0/12", "prefix": 24}).model_copy(
        update={"solution": {"pc1": "solve.sh"}, "folder": tmp_path}
    )
    params = session_params(scenario, "t0123456789")
    monkeypatch.setattr(app.scenario_test, "SSHTransport", Recorder)
    monkeypatch.setattr(app.scenario_test, "load_key", lambda key: key)
    Recorder.sent = []
    nodes = {"pc1": NodeInfo(name="pc1", ref="c", address="10.213.0.2")}
    app.scenario_test.run_solution(scenario, nodes, "key", params, lambda _: None)
    ((command, script),) = Recorder.sent
    lan = IPv4Network(params["lan"])
    assert script == f"ip addr add {lan.network_address + 10}/24 dev eth1\n"
    assert f"LAN={params['lan']}" in command  # the environment as before


class NoLabs:
    """The lab engine's boundary: no lab is made (the controller does not run)."""

    def node_states(self, session_id: str) -> dict[str, str]:
        return {}

    def sessions(self) -> set[str]:
        return set()


def test_sessions_draw_from_their_id_and_keep_clear_of_the_lab_pool(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    body = "draw:\n  lan: {subnet: 10.212.0.0/15, prefix: 24}\n  vlan: {range: [2, 4000]}\n"
    folder = write(scenarios, body, subject="Passerelle {{ lan.1 }}, VLAN {{ vlan }}\n")
    settings = Settings(data_dir=tmp_path, scenarios_dir=scenarios, lab_pool="10.213.0.0/16")
    service = create_app(settings, driver=NoLabs(), run_controller=False)  # type: ignore[arg-type]
    with TestClient(service) as client:
        with unit_of_work(client.app.state.engine) as db:  # type: ignore[attr-defined]
            headers = {"Authorization": f"Bearer {create_user(db, 'ex', Role.examiner)}"}
        made = [
            client.post("/api/sessions", json={"scenario": "net", "candidate": c}, headers=headers)
            for c in ("A", "B")
        ]
        sessions = [m.json() for m in made]
        assert [m.status_code for m in made] == [202, 202]
        scenario = loaded(folder)
        for session in sessions:
            drawn = draw_values(scenario.draw, session["id"], [IPv4Network("10.213.0.0/16")])
            assert {k: session["params"][k] for k in drawn} == drawn
            assert IPv4Network(drawn["lan"]).subnet_of(IPv4Network("10.212.0.0/16"))
        assert sessions[0]["params"] != sessions[1]["params"]
        first = sessions[0]["params"]
        subject = client.get(f"/api/sessions/{sessions[0]['id']}/instructions", headers=headers)
        gateway = IPv4Network(first["lan"]).network_address + 1
        assert subject.text == f"Passerelle {gateway}, VLAN {first['vlan']}\n"
        # a pool the platform's own networks fill: refused in one line, no session made
        (scenarios / "net" / "scenario.yaml").write_text(
            (scenarios / "net" / "scenario.yaml")
            .read_text()
            .replace("10.212.0.0/15", "10.213.0.0/16")
        )
        refused = client.post(
            "/api/sessions", json={"scenario": "net", "candidate": "C"}, headers=headers
        )
        assert refused.status_code == 422
        assert "draw lan: no /24 of 10.213.0.0/16 is left" in refused.json()["detail"]
        assert len(client.get("/api/sessions", headers=headers).json()) == 2
