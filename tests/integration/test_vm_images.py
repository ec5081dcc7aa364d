"""Imported VM images on the real libvirtd: `praxis images import` and `list` on a real disk,
`--check` booting it in a real trial lab, and a scenario whose image is not on this host
failing in one clear line, from the CLI and as a session."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from app.backends import trials_of
from app.db import instance_id, make_engine
from labs import vm_dhcp
from labs.vm_images import load
from tests.integration.conftest import PRAXIS, ROOT, Service

STORE = Path("/var/lib/praxis/images")
DISKS = Path("/var/lib/praxis/disks")
MISSING = "VM image windows-server-2022 is not on this host"


def praxis(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRAXIS, *args], capture_output=True, text=True, check=False, timeout=600, env=env
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A platform of the test's own (its database, so its instance id), wide output."""
    return {**os.environ, "PRAXIS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


@pytest.fixture
def name() -> Iterator[str]:
    """A name to import under; the image and its versions are removed afterwards."""
    name = "it-import-" + secrets.token_hex(3)
    yield name
    (STORE / name).unlink(missing_ok=True)
    for version in (STORE / "versions").glob(f"{name}-*"):
        shutil.rmtree(version)


def built_disk() -> Path:
    image = load(STORE, "debian-vm")
    assert image is not None, "debian-vm is not built: run the tests with `make test`"
    return image.disk


def test_an_imported_disk_is_listed_and_bad_imports_are_refused_in_one_line(
    name: str, env: dict[str, str], tmp_path: Path
) -> None:
    done = praxis("images", "import", name, "--qcow2", str(built_disk()), "--os", "linux", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"imported {name}: linux, 2.0 GiB disk, {STORE}/versions/")
    image = load(STORE, name)
    assert image is not None and (image.boot, image.recipe) == ("firmware", "imported")

    listed = praxis("images", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if "│" in line}
    assert re.search(r"│ vm\s+│ imported\s+│ .*GiB.*│ linux", rows[name]), rows[name]
    assert "│ built" in rows["debian-vm"] and "│ container" in rows["debian-bookworm"]

    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\0" * (1 << 20))
    for args, says in [
        ((name, "--qcow2", str(raw)), "format is raw, not qcow2"),
        (("debian-vm", "--qcow2", str(built_disk())), "is built from images/debian-vm/"),
        (("../etc", "--qcow2", str(built_disk())), "use lowercase letters"),
    ]:
        refused = praxis("images", "import", *args, env=env)
        assert refused.returncode == 1 and refused.stdout == ""
        assert says in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert load(STORE, name) == image  # a refused import changed nothing


def test_check_of_an_image_that_cannot_boot_fails_within_its_timeout_and_leaves_nothing(
    name: str, env: dict[str, str], tmp_path: Path
) -> None:
    """debian-vm's disk has no boot loader (QEMU boots its kernel directly): imported, the
    firmware finds nothing to boot, and no SSH ever answers."""
    start = time.monotonic()
    done = praxis(
        "images", "import", name, "--qcow2", str(built_disk()),
        "--check", "--timeout", "30", env=env,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stdout + done.stderr
    assert elapsed < 90, elapsed
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"{name}: imported, but the check failed: ")
    assert "gave no SSH banner in time" in error[0]
    session_id = re.search(r"lab (i[0-9a-f]{10}): booting", done.stdout)
    assert session_id is not None and f"lab {session_id[1]}: removed" in done.stdout
    trial = trials_of(instance_id(make_engine(f"sqlite:///{tmp_path}/data/praxis.db")))
    conn = libvirt.open("qemu:///system")
    try:
        assert not [d.name() for d in conn.listAllDomains() if session_id[1] in d.name()]
    finally:
        conn.close()
    folder = DISKS / trial / session_id[1]
    assert not folder.exists() and vm_dhcp.running(folder) is None
    assert load(STORE, name) is not None  # the image stays: fix it and import it again


def test_testing_a_scenario_whose_image_is_missing_says_so_in_one_line(
    env: dict[str, str],
) -> None:
    done = praxis("scenario", "test", "windows-backup", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and MISSING in error[0], done.stderr
    assert "praxis images import windows-server-2022 --qcow2" in error[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_session_whose_image_is_missing_fails_with_that_reason(tmp_path: Path) -> None:
    service = Service(tmp_path)
    (tmp_path / "scenarios" / "windows-backup").symlink_to(ROOT / "scenarios" / "windows-backup")
    service.start()
    try:
        with service.client() as api:
            created = api.post(
                "/api/sessions", json={"scenario": "windows-backup", "candidate": "Ada"}
            )
            assert created.status_code == 202, created.text
        session = service.wait(created.json()["id"], "failed", timeout=60)
        assert session["reason"].startswith("provisioning failed: node srv: " + MISSING)
    finally:
        service.kill(signal.SIGTERM)
        service.destroy_all()
