"""Several lab hosts behind one driver (app.fleet) and their enrolment (app.hosts): where a
lab is placed, that every step goes to its host, and what a host that stops answering does.
The engines are fakes here; tests/integration/test_lab_hosts.py drives a real second one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from app import fleet as fleet_module
from app import hosts
from app.catalog import Catalog
from app.config import Settings
from app.db import unit_of_work
from app.errors import Conflict, Invalid
from app.fleet import LOCAL, Fleet
from app.models import LabHost, LabSession, State
from labs.driver import Access, HostDown, LabError, NodeInfo
from labs.scenario import Scenario

SCENARIOS = Path(__file__).parents[1] / "integration" / "scenarios"
GIB = 2**30
ACCESS = Access("ssh-ed25519 AAAA", "candidate", "secret")


class FakeEngine:
    """A host's driver: records what it is asked, holds the sessions it made."""

    def __init__(self, name: str) -> None:
        self.name, self.down = name, False
        self.calls: list[tuple[str, str]] = []
        self.made: set[str] = set()

    def create(self, session_id: str, scenario: Scenario, access: Access) -> dict[str, NodeInfo]:
        self.calls.append(("create", session_id))
        self.made.add(session_id)
        return {n: NodeInfo(n, "10.0.0.2", f"{self.name}-{n}") for n in scenario.nodes}

    def prepare(self, session_id: str) -> None:
        self.calls.append(("prepare", session_id))

    def freeze(self, session_id: str, access: Access, restart: bool) -> dict[str, NodeInfo]:
        self.calls.append(("freeze", session_id))
        return {}

    def node_states(self, session_id: str) -> dict[str, str]:
        return {"web": "running"} if session_id in self.made else {}

    def all_node_states(self) -> dict[str, dict[str, str]]:
        return {s: {"web": "running"} for s in self.made}

    def node_cause(self, session_id: str, node: str) -> str:
        return "unknown"

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        return NodeInfo(node, "10.0.0.2", "")

    def destroy(self, session_id: str) -> None:
        if self.down:
            raise LabError(f"{self.name} does not answer")
        self.calls.append(("destroy", session_id))
        self.made.discard(session_id)

    def sessions(self) -> set[str]:
        if self.down:
            raise LabError(f"{self.name} does not answer")
        return set(self.made)


@pytest.fixture
def engine(migrated: Engine) -> Engine:
    return migrated


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(SCENARIOS, Settings().node_capabilities)


class Hosts:
    """A fleet of `local` and enrolled fakes, with whether each engine answers."""

    def __init__(self, engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engine, self.catalog = engine, catalog
        self.local = FakeEngine(LOCAL)
        self.drivers: dict[str, FakeEngine] = {}
        self.answering: dict[str, bool] = {}
        monkeypatch.setattr(fleet_module, "engine_answers", lambda url: self.answering[url])
        monkeypatch.setattr(fleet_module, "REFRESH_SECONDS", 0.0)  # every call reads again
        self.fleet = Fleet(engine, catalog, self.local, 8 * GIB, self._driver)

    def _driver(self, host: LabHost) -> FakeEngine:
        return self.drivers.setdefault(host.name, FakeEngine(host.name))

    def enrol(self, name: str, memory: int) -> None:
        url = f"unix:///run/{name}.sock"
        self.answering[url] = True
        with unit_of_work(self.engine) as db:
            db.add(LabHost(name=name, docker_url=url, lab_pool="10.9.0.0/16", memory_bytes=memory))

    def session(self, session_id: str, scenario: str = "quick") -> str:
        with unit_of_work(self.engine) as db:
            db.add(
                LabSession(
                    id=session_id, scenario=scenario, candidate="c", state=State.provisioning
                )
            )
        return session_id

    def create(self, session_id: str, scenario: str = "quick") -> str:
        self.fleet.create(self.session(session_id, scenario), self.catalog.get(scenario), ACCESS)
        with unit_of_work(self.engine) as db:
            row = db.get(LabSession, session_id)
            assert row is not None
            return row.host


@pytest.fixture
def two(engine: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> Hosts:
    made = Hosts(engine, catalog, monkeypatch)
    made.enrol("second", 8 * GIB)
    return made


def test_labs_go_where_there_is_most_room_and_the_host_is_recorded(two: Hosts) -> None:
    # 8 GiB each, a quick lab 256 MiB: they alternate, ties going to the local host.
    assert [two.create(f"s{i}") for i in range(4)] == [LOCAL, "second", LOCAL, "second"]
    with unit_of_work(two.engine) as db:
        placed = db.get(LabSession, "s1")
        assert placed is not None and placed.docker_url == "unix:///run/second.sock"
    assert two.drivers["second"].made == {"s1", "s3"} and two.local.made == {"s0", "s2"}


def test_a_bigger_host_takes_labs_until_the_room_left_is_even(two: Hosts) -> None:
    two.enrol("big", 9 * GIB)
    # big has 1 GiB more: four quick labs go there first, then the hosts take turns.
    assert [two.create(f"s{i}") for i in range(5)] == ["big"] * 4 + [LOCAL]


def test_vm_labs_stay_on_this_machine_and_down_hosts_get_nothing(two: Hosts) -> None:
    two.enrol("big", 64 * GIB)
    assert two.create("vm", "vm-lab") == LOCAL  # libvirt is this machine's
    two.answering["unix:///run/big.sock"] = False
    assert two.create("c1") == "second"  # more room than local, now that big is gone


def test_a_placement_is_kept(two: Hosts) -> None:
    assert two.create("s0") == LOCAL
    two.enrol("big", 64 * GIB)
    assert two.fleet.place("s0", two.catalog.get("quick")) == LOCAL


def test_every_step_goes_to_the_session_host(two: Hosts) -> None:
    two.create("s0")
    two.create("s1")  # on second
    two.fleet.freeze("s1", ACCESS, restart=True)
    assert ("freeze", "s1") in two.drivers["second"].calls
    assert ("freeze", "s1") not in two.local.calls
    assert two.fleet.node_states("s1") == {"web": "running"}
    assert two.fleet.all_node_states() == {"s0": {"web": "running"}, "s1": {"web": "running"}}
    two.fleet.destroy("s1")  # there, and here: a network may have been made ahead for its id
    assert ("destroy", "s1") in two.drivers["second"].calls
    assert ("destroy", "s1") in two.local.calls
    assert two.fleet.sessions() == {"s0"}


def test_a_lab_placed_elsewhere_first_drops_what_was_made_ahead_here(two: Hosts) -> None:
    two.fleet.prepare("s0")  # the spare network: always on this machine
    two.create("s0")
    two.fleet.prepare("s1")
    two.create("s1")
    assert two.local.calls[-1] == ("destroy", "s1")  # before second made it: same bridge name
    assert ("create", "s1") in two.drivers["second"].calls


def test_an_orphan_is_looked_for_on_every_host(two: Hosts) -> None:
    two.create("s0")
    two.create("s1")
    with unit_of_work(two.engine) as db:
        db.delete(db.get(LabSession, "s1"))  # the database lost it: the reaper's case
    assert two.fleet.sessions() == {"s0", "s1"}
    two.fleet.destroy("s1")
    assert "s1" not in two.drivers["second"].made


def test_a_host_that_stops_answering_holds_back_only_its_sessions(two: Hosts) -> None:
    two.create("s0")
    two.create("s1")  # on second
    two.answering["unix:///run/second.sock"] = False
    two.drivers["second"].down = True
    with pytest.raises(HostDown, match="second does not answer"):
        two.fleet.freeze("s1", ACCESS, restart=True)
    assert two.fleet.node_states("s1") == {}  # no verdict on its nodes
    assert two.fleet.all_node_states() == {"s0": {"web": "running"}}
    assert two.fleet.sessions() == {"s0"}  # its labs are reaped when it is back
    two.fleet.freeze("s0", ACCESS, restart=True)  # this machine's go on
    assert two.create("s2") == LOCAL


def test_enrolment_refuses_what_would_not_work(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings()
    monkeypatch.setattr(hosts, "engine_answers", lambda url: False)
    cases = {
        ("local", "unix:///run/x.sock", "10.250.0.0/16"): "not 'local'",
        ("Bad Name", "unix:///run/x.sock", "10.250.0.0/16"): "a-z",
        ("far", "ssh://root@lab2", "10.250.0.0/16"): "grading agent",
        ("near", "unix:///run/x.sock", "10.213.4.0/24"): "overlaps local",
        ("near", "unix:///run/x.sock", "not-a-pool"): "pool not-a-pool",
        ("near", "unix:///run/x.sock", "10.250.0.0/16"): "does not answer",
    }
    for (name, url, pool), reason in cases.items():
        with pytest.raises(Invalid, match=reason):
            hosts.add(engine, settings, name, url, pool, 0)
    with unit_of_work(engine) as db:
        db.add(
            LabHost(name="near", docker_url="unix:///n", lab_pool="10.250.0.0/16", memory_bytes=1)
        )
        db.add(LabSession(id="s", scenario="quick", candidate="c", host="near"))
    with pytest.raises(Invalid, match="overlaps near"):
        hosts.add(engine, settings, "other", "unix:///o", "10.250.8.0/24", 0)
    with pytest.raises(Conflict, match="enrolled already"):
        hosts.add(engine, settings, "near", "unix:///n", "10.251.0.0/16", 0)
    with pytest.raises(Conflict, match="holds live labs"):
        hosts.remove(engine, "near")
    with pytest.raises(Invalid, match="no lab host"):
        hosts.remove(engine, "nowhere")
