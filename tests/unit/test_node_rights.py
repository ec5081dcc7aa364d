"""Node rights: capabilities beyond the safe set need the operator's setting; the driver
refuses them too, and asks the engine for a private cgroup namespace."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from app.catalog import validate
from app.config import Settings
from labs import cgroups, docker_driver
from labs.driver import Access, LabError
from labs.scenario import Node, Scenario

CASES = Path(__file__).parent / "scenario_cases"


def test_the_operator_may_allow_more_capabilities() -> None:
    settings = Settings(allowed_capabilities="SYS_ADMIN, cap_sys_module,sys_ptrace")
    assert {"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "NET_ADMIN"} <= settings.node_capabilities
    scenario, problems = validate(
        CASES / "capability-policy", capabilities=settings.node_capabilities
    )
    assert problems == [] and scenario is not None
    assert scenario.nodes["web"].capabilities == ["NET_ADMIN", "SYS_ADMIN", "SYS_MODULE"]


def test_an_unknown_capability_in_the_setting_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="SYS_ADMN"):
        Settings(allowed_capabilities="SYS_ADMN")


class FakeEngine:
    """The Docker SDK's client as the driver uses it before creating anything."""

    def __init__(self, base_url: str | None = None, cgroup_version: str = "1") -> None:
        self.cgroup_version = cgroup_version

    def info(self) -> dict[str, Any]:
        return {"CgroupVersion": self.cgroup_version}

    @property
    def images(self) -> Any:
        image = SimpleNamespace(attrs={"Config": {"Cmd": ["/sbin/init"]}})
        return SimpleNamespace(get=lambda tag: image)


def driver(
    monkeypatch: pytest.MonkeyPatch, base_url: str = "unix:///nowhere", **kwargs: Any
) -> docker_driver.DockerDriver:
    monkeypatch.setattr(docker_driver.docker, "DockerClient", FakeEngine)
    return docker_driver.DockerDriver(base_url, **kwargs)


def scenario(*capabilities: str) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "rights",
            "title": {"fr": "x"},
            "duration": "1h",
            "nodes": {"web": Node(image="debian-bookworm", capabilities=list(capabilities))},
            "criteria": [{"id": "a", "title": {"fr": "a"}, "check": {"type": "x"}}],
        }
    )


def test_the_driver_refuses_what_the_policy_does_not_allow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = driver(monkeypatch)
    with pytest.raises(LabError, match="web: SYS_ADMIN"):
        lab.create("s1", scenario("NET_ADMIN", "sys_admin"), Access("key", "candidat", "pw"))
    allowed = driver(monkeypatch, capabilities={"SYS_ADMIN"})
    allowed._check_rights(scenario("SYS_ADMIN"))  # the operator's choice: no error


@pytest.mark.parametrize("version", ["1", "2"])
def test_nodes_get_a_private_cgroup_namespace_never_the_hosts_tree(
    monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(
        docker_driver.docker, "DockerClient", lambda base_url: FakeEngine(base_url, version)
    )
    lab = docker_driver.DockerDriver("unix:///var/run/docker.sock")
    options = lab._init_options()
    assert options["cgroupns"] == "private" and "volumes" not in options
    # On v1 PID 1 waits until the driver made systemd's own hierarchy writable.
    waits = lab._waits("debian-bookworm")
    assert waits["command"] == ["/sbin/init"]
    assert (cgroups.WAIT in waits["entrypoint"][2]) is (version == "1")


def test_a_cgroup_v1_engine_elsewhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = driver(monkeypatch, base_url="tcp://lab-host:2375")
    with pytest.raises(LabError, match="cgroup v1 engine must run on this host"):
        lab._init_options()
