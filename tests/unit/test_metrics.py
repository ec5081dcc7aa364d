"""`/metrics` for Prometheus: the sessions by state and the host, read at each scrape; the
durations and errors as this process counted them. Their counting on real labs:
tests/integration/test_pool.py and test_exam_flow.py."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import _meminfo
from app.models import LabHost, State
from tests.unit.test_live_tables import _add, _lab
from tests.unit.test_live_tables import client as client
from tests.unit.test_live_tables import engine as engine


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_scrape_counts_sessions_by_state_apart_from_the_pool(client: TestClient) -> None:
    _add(
        client,
        _lab("a", State.ready),
        _lab("b", State.ready),
        _lab("c", State.grading),
        _lab("d", State.torn_down),
        _lab("p", State.ready, pooled=True),
        _lab("q", State.provisioning, pooled=True),
    )
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    found = samples(reply.text)
    assert found["praxis_sessions", (("state", "ready"),)] == 2
    assert found["praxis_sessions", (("state", "grading"),)] == 1
    assert found["praxis_sessions", (("state", "torn_down"),)] == 1
    assert found["praxis_sessions", (("state", "failed"),)] == 0  # every state, 0 included
    assert found["praxis_pooled_labs", (("state", "ready"),)] == 1
    assert found["praxis_pooled_labs", (("state", "provisioning"),)] == 1
    assert found["praxis_host_labs", (("host", "local"),)] == 5  # all but the torn-down one
    assert not any(name == "praxis_host_up" for name, _ in found)  # no host enrolled
    memory = {k: v for (name, k), v in found.items() if name == "praxis_host_memory_bytes"}
    total = memory[("host", "local"), ("kind", "total")]
    assert 0 < memory[("host", "local"), ("kind", "available")] <= total
    assert found["praxis_errors_total", (("kind", "provisioning"),)] >= 0  # shown before any
    assert ("praxis_ready_seconds_count", (("scenario", "amp-stack"),)) not in found


def test_metrics_are_for_staff(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get("/metrics").status_code == 401  # roles: tests/unit/test_api_roles.py


def test_memory_is_read_in_bytes(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   2048 kB\n")
    assert _meminfo(meminfo) == {"total": 24576000 * 1024, "available": 2048 * 1024}


def test_an_enrolled_host_has_its_labs_capacity_and_health(client: TestClient) -> None:
    away = LabHost(
        name="second", docker_url="unix:///nowhere.sock", lab_pool="10.9.0.0/16", memory_bytes=8
    )
    _add(
        client,
        away,
        _lab("here", State.ready, host="local"),
        _lab("there", State.ready, host="second"),
        _lab("gone", State.torn_down, host="second"),
    )
    found = samples(client.get("/metrics").text)
    assert found["praxis_host_labs", (("host", "local"),)] == 1
    assert found["praxis_host_labs", (("host", "second"),)] == 1
    assert found["praxis_host_memory_bytes", (("host", "second"), ("kind", "capacity"))] == 8
    assert found["praxis_host_up", (("host", "second"),)] == 0  # its engine does not answer
