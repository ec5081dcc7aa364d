"""The hypervisor exam on real VMs (TCG): a candidate who fakes `virsh` and writes libvirt's
files by hand scores nothing. Its solution and its blank lab: tests/integration/test_exams.py."""

from __future__ import annotations

import shlex
from pathlib import Path

from app.backends import lab_driver, trials_of
from app.config import Settings
from app.scenario_test import test_scenario as trial
from labs.loader import load_scenario
from tests.integration.conftest import ROOT
from tests.unit import test_hypervisor as samples


def _faker() -> str:
    """A candidate who installs nothing: a `virsh` that prints what a solved lab's would, and
    libvirt's definition files written by hand, as they are in a solved lab."""
    answers = {
        "dominfo": samples.DOMINFO,
        "pool-info": samples.POOL_INFO,
        "net-info": samples.NET_INFO,
        "vol-dumpxml": samples.VOLUME,
        "capabilities": samples.CAPABILITIES,
        "domstate": "running (booted)\n",
        "dumpxml": samples.DOMAIN,
    }
    cases = "".join(f"  *' {k} '*) cat <<'EOF'\n{v}EOF\n  ;;\n" for k, v in answers.items())
    lines = [
        "set -e",
        f"cat > /usr/bin/virsh <<'VIRSH'\n#!/bin/sh\ncase \" $* \" in\n{cases}esac\nVIRSH",
        "chmod 755 /usr/bin/virsh",
    ]
    files = {
        "/etc/libvirt/qemu/srv-intranet.xml": samples.DOMAIN,
        "/etc/libvirt/storage/pool-vms.xml": samples.POOL,
        "/etc/libvirt/qemu/networks/net-vms.xml": samples.NETWORK,
    }
    for path, text in files.items():
        folder = str(Path(path).parent)
        lines += [
            f"mkdir -p {folder}/autostart",
            f"cat > {path} <<'XML'\n{text}XML",
            f"ln -sf {path} {folder}/autostart/{shlex.quote(Path(path).name)}",
        ]
    return "\n".join([*lines, "sync"]) + "\n"


def test_a_candidate_who_fakes_virsh_scores_nothing_and_is_reported(tmp_path: Path) -> None:
    scenario, _, problems = load_scenario(ROOT / "scenarios" / "hypervisor")
    assert scenario is not None, problems
    (tmp_path / "fake.sh").write_text(_faker())
    faked = scenario.model_copy(update={"solution": {"hyperviseur": "fake.sh"}, "folder": tmp_path})
    settings = Settings(data_dir=tmp_path / "data")
    driver = lab_driver(settings, trials_of("hypervisor-test"))
    report = trial(driver, settings, faked, blank=False, say=lambda _: None)
    assert report.percent <= 10, [(c.id, c.score, c.message) for c in report.criteria]
    found = {f.path for n in report.integrity for f in n.findings}
    assert "/usr/bin/virsh" in found, report.integrity
