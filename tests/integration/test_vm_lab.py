"""VM labs on the real libvirtd (QEMU TCG here): a container and a VM on one network, made
ahead in a pool and handed out ready, graded from the VM's frozen disk and over SSH, torn down
and reaped without a trace."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import libvirt
import paramiko

from app.config import Settings
from app.db import instance_id, make_engine
from labs.libvirt_driver import LibvirtDriver
from tests.integration.conftest import PRAXIS, TEST_SCENARIOS, Service, candidate_ssh, sudo

DISKS = Path("/var/lib/praxis/disks")


def _leftovers(instance: str, session_id: str) -> list[str]:
    """Every trace a session's lab could leave: domains, disk files, containers, networks."""
    conn = libvirt.open("qemu:///system")
    try:
        found = [d.name() for d in conn.listAllDomains() if session_id in d.name()]
    finally:
        conn.close()
    folder = DISKS / instance / session_id
    found += [str(folder)] if folder.exists() else []
    docker = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=praxis.session={session_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    networks = subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", f"label=praxis.session={session_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return found + docker + networks


def _instance(service: Service) -> str:
    return instance_id(make_engine(f"sqlite:///{service.env['PRAXIS_DATA_DIR']}/praxis.db"))


def test_a_pooled_mixed_lab_is_solved_graded_from_the_frozen_disk_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    service = Service(tmp_path, retention_seconds="2", pools=json.dumps({"vm-lab": 1})).start()
    try:
        _mixed_lab(service)
    finally:
        service.kill(signal.SIGTERM)
        service.destroy_all()


def _mixed_lab(service: Service) -> None:
    with service.client() as api:
        deadline = time.monotonic() + 300
        while not (pools := api.get("/api/pools").json()) or not pools[0]["ready"]:
            assert time.monotonic() < deadline, f"no pooled VM lab ready: {pools}"
            time.sleep(1)
        created = api.post("/api/sessions", json={"scenario": "vm-lab", "candidate": "Vera Machin"})
        assert created.status_code == 202, created.text
        ready = created.json()
        assert ready["state"] == "ready" and ready["id"] == pools[0]["ready"][0]  # at once
        session_id = ready["id"]
        vm = next(n for n in ready["nodes"] if n["name"] == "vm")
        box = subprocess.run(  # the container reaches the VM on the session's network
            ["docker", "exec", f"praxis-{session_id}-box", "bash", "-c", "echo > /dev/tcp/"
             f"{vm['address']}/22 && echo open"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert box.stdout.strip() == "open", box.stderr
        # The candidate, by the SSH command they are given, with their password, as root by sudo.
        client = candidate_ssh(ready, "vm")
        status, out = sudo(client, ready["access"]["password"], "echo 42 > /root/answer.txt\n")
        assert status == 0, out
        # After the end their shell survives nowhere: what they start now cannot change the grade.
        client.exec_command("sleep 2; echo 41 | sudo -S tee /root/answer.txt")
        client.close()
        assert api.post(f"/api/sessions/{session_id}/end").status_code == 200
        graded = service.wait(session_id, "graded", timeout=600)
        result = api.get(f"/api/sessions/{session_id}/result").json()
    scores = {c["id"]: c["score"] for c in result["criteria"]}
    assert scores == {"answer-file": 1, "hostname": 1, "sshd": 1}, result["criteria"]
    assert result["score"] == 100 and graded["state"] == "graded"
    evidence = [e for c in result["criteria"] for e in c["evidence"]]
    assert any(e["via"] == "host" and "answer.txt" in e["command"] for e in evidence), evidence
    vm_scan = next(n for n in result["integrity"] if n["node"] == "vm")
    assert vm_scan["findings"] == [] and not vm_scan.get("error"), vm_scan
    # After the cut-off the candidate's account is locked in the VM.
    try:
        candidate_ssh(ready, "vm")
        locked = False
    except (paramiko.AuthenticationException, paramiko.SSHException, OSError):
        locked = True
    assert locked
    instance = _instance(service)
    service.wait(session_id, "torn_down", timeout=120)  # kept 2 s for examiners, then removed
    assert _leftovers(instance, session_id) == []


def test_a_vm_destroyed_mid_session_scores_zero_with_evidence(service: Service) -> None:
    with service.client() as api:
        session_id = api.post(
            "/api/sessions", json={"scenario": "vm-lab", "candidate": "X"}
        ).json()["id"]
        service.wait(session_id, "ready", timeout=300)
        subprocess.run(["virsh", "destroy", f"praxis-{session_id}-vm"], check=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the watch opens an incident with libvirt's cause
            incidents = api.get(f"/api/sessions/{session_id}/incidents").json()
            if incidents:
                break
            time.sleep(0.5)
        assert incidents and incidents[0]["node"] == "vm", incidents
        assert incidents[0]["cause"] == "vm:destroyed", incidents
        api.post(f"/api/sessions/{session_id}/end")
        service.wait(session_id, "graded", timeout=600)
        result = api.get(f"/api/sessions/{session_id}/result").json()
    by_id = {c["id"]: c for c in result["criteria"]}
    for criterion in ("answer-file", "hostname", "sshd"):
        assert by_id[criterion]["score"] == 0 and by_id[criterion]["status"] == "failed"
    assert "down" in by_id["answer-file"]["message"] or "ssh" in by_id["hostname"]["message"]


def test_reap_after_a_trial_is_killed_mid_provisioning_leaves_nothing(tmp_path: Path) -> None:
    """An instructor's `praxis scenario test`, killed (-9) between two provisioning steps:
    `praxis reap` finds every object again (labels, metadata, file names) and removes them."""
    service = Service(tmp_path)  # its database and settings, no service running
    instance = f"{_instance(service)}-trial"
    settings = Settings()
    trials = LibvirtDriver(settings.libvirt_url, settings.vm_dir, instance)  # this trial's only
    trial = subprocess.Popen(
        [PRAXIS, "scenario", "test", str(TEST_SCENARIOS / "vm-lab")],
        env=service.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (mine := trials.domains()):  # the VM is defined: provisioning is under way
        assert time.monotonic() < deadline, "the trial's VM was never defined"
        time.sleep(0.05)
    trial.send_signal(signal.SIGKILL)
    trial.wait()
    session_id = mine[0].session
    assert _leftovers(instance, session_id) != []
    service.cli("reap")
    assert _leftovers(instance, session_id) == []
