"""Grades a jury can trust: a root candidate who fakes the AMP exam does not pass, and a lab
made hostile to its grader neither stalls the service nor escapes its budget."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app.config import Settings
from tests.integration.conftest import Service, candidate_ssh, sudo

CHEAT = (Path(__file__).parent / "cheat_amp.sh").read_text()


def test_a_cheating_root_candidate_scores_at_most_10_and_is_reported(service: Service) -> None:
    with service.client() as api:
        created = api.post("/api/sessions", json={"scenario": "amp-stack", "candidate": "Eve"})
    session = service.wait(created.json()["id"], "ready")
    ssh = candidate_ssh(session)
    status, output = sudo(ssh, session["access"]["password"], CHEAT)
    assert status == 0, output[-2000:]
    with service.client() as api:
        assert api.post(f"/api/sessions/{session['id']}/end").status_code == 200
    service.wait(session["id"], "graded")
    with service.client() as api:
        result = api.get(f"/api/sessions/{session['id']}/result").json()
        report = api.get(f"/api/sessions/{session['id']}/report.html").text
    scores = {c["id"]: (c["score"], c["message"][:120]) for c in result["criteria"]}
    assert result["score"] <= 10, scores
    findings = {f["path"] for node in result["integrity"] for f in node["findings"]}
    assert {"/usr/bin/systemctl", "/usr/bin/mysql", "/etc/ld.so.preload"} <= findings, findings
    assert "/usr/bin/systemctl" in report
    for criterion in ("apache-active", "mariadb-active", "packages-installed", "db-data"):
        assert scores[criterion][0] == 0, scores


PROBE = """
import http.client, sys, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
with open(sys.argv[2], "w") as out:
    while True:
        start = time.monotonic()
        conn.request("GET", "/api/health")
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        out.write(f"{time.monotonic() - start}\\n")
        out.flush()
        time.sleep(0.02)
"""


def test_a_hostile_lab_neither_stalls_the_service_nor_escapes_its_budget(
    service: Service, tmp_path: Path
) -> None:
    with service.client() as api:
        created = api.post("/api/sessions", json={"scenario": "hostile", "candidate": "Mallory"})
    session = service.wait(created.json()["id"], "ready")
    ssh = candidate_ssh(session)
    script = (
        "head -c 1000000 /dev/zero | tr '\\0' '\\n' > /etc/huge.conf\n"
        "printf '#!/bin/sh\\nexec yes\\n' > /usr/local/bin/report\n"
        "chmod +x /usr/local/bin/report\n"
    )
    status, output = sudo(ssh, session["access"]["password"], script)
    assert status == 0, output

    # The service answers before batch work takes the cores (Settings.service_niceness). The
    # probe is a process of its own, at the same priority: in this one, the test's own work
    # (an HTTP client's certificates loaded while holding the GIL) would count as the service's.
    assert service.process is not None
    assert os.getpriority(os.PRIO_PROCESS, service.process.pid) == Settings().service_niceness
    probing = tmp_path / "latencies"
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(service.port), str(probing)],
        preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, -5),
    )
    start = time.monotonic()
    try:
        with service.client() as api:
            assert api.post(f"/api/sessions/{session['id']}/end").status_code == 200
        service.wait(session["id"], "graded", timeout=120)
    finally:
        prober.terminate()
        prober.wait(10)
    latencies = [float(x) for x in probing.read_text().split()]
    assert time.monotonic() - start < 120
    assert len(latencies) > 20 and max(latencies) < 0.1, sorted(latencies)[-5:]
    with service.client() as api:
        result = api.get(f"/api/sessions/{session['id']}/result").json()
    vhost, report, hostname = result["criteria"]
    assert vhost["score"] == 0 and vhost["evidence"][0]["via"] == "host"
    assert report["score"] == 0 and "cut by the grader's cap" in report["evidence"][0]["output"]
    assert hostname["score"] == 1 and result["complete"]
