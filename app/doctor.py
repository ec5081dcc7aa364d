"""`praxis doctor`: what this host can run, and what to do about what it cannot."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import libvirt

from app.backends import docker_client
from app.config import Settings
from app.disk import (
    LOW_FREE,
    Use,
    engine_caps_disks,
    file_system,
    free_space,
    human,
    tree_size,
)
from app.reports.fonts import PACKAGE, missing_fonts
from labs.images import Stores, is_current, recipes
from labs.links import vlan_in_containers


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _docker(settings: Settings) -> tuple[Finding, docker.DockerClient | None]:
    name = "container backend (dockerd)"
    try:
        client = docker_client(settings)
        version = client.version()["Version"]
        return Finding(name, True, f"Docker Engine {version}"), client
    except docker.errors.DockerException as exc:
        return Finding(
            name, False, str(exc), "run `make setup` (installs and starts dockerd)"
        ), None


def _vlan() -> Finding:
    why = vlan_in_containers()
    return Finding(
        "802.1Q in containers",
        why is None,
        "VLAN interfaces and VLAN-filtering bridges work in containers" if why is None else why,
        "" if why is None else "VLAN scenarios need VM nodes here (a VM has its own kernel)",
    )


# systemd as a node's PID 1 holds about 7 inotify instances, counted for root across every
# container: Linux's default of 128 stops the ~18th lab at boot (exit 255, nothing logged).
INOTIFY_PER_NODE = 8
INOTIFY_FOR_LABS = 8192


def _inotify() -> Finding:
    path = Path("/proc/sys/fs/inotify/max_user_instances")
    limit = int(path.read_text()) if path.exists() else 0
    return Finding(
        "inotify instances",
        limit >= INOTIFY_FOR_LABS,
        f"fs.inotify.max_user_instances = {limit}: about {limit // INOTIFY_PER_NODE} nodes",
        f"run `make setup`, or sysctl -w fs.inotify.max_user_instances={INOTIFY_FOR_LABS}",
    )


def _libvirt(settings: Settings) -> Finding:
    """The VM backend: libvirtd answers, and under which accelerator VMs would run."""
    try:
        conn = libvirt.open(settings.libvirt_url)
    except libvirt.libvirtError as exc:
        return Finding(
            "VM backend (libvirt)",
            False,
            f"{settings.libvirt_url}: {exc}",
            "VM scenarios only: run `make setup` (installs and starts libvirtd)",
        )
    try:
        version = conn.getLibVersion()
    finally:
        conn.close()
    probed = settings.vm_dir / "accel"  # labs.libvirt_driver keeps its probe's answer there
    accel = probed.read_text().split()[-1] if probed.exists() else ""
    how = {"kvm": "KVM", "qemu": "QEMU TCG: /dev/kvm missing or unusable here, VMs are slow"}
    how_here = how.get(accel, "KVM if it works here (probed at the first VM), else TCG")
    return Finding(
        "VM backend (libvirt)",
        True,
        f"libvirt {version // 1000000}.{version // 1000 % 1000}; VMs run under {how_here}",
    )


def _fonts() -> Finding:
    """Without them no grade report or code slip can be printed."""
    missing = missing_fonts()
    return Finding(
        "PDF fonts",
        not missing,
        f"missing {', '.join(map(str, missing))}" if missing else "DejaVu Sans and Sans Mono",
        f"run `make setup` (installs {PACKAGE})",
    )


def _port(name: str, port: int, fix: str) -> Finding:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return Finding(name, True, f"listening on port {port}")
    except OSError:
        return Finding(name, False, f"nothing on port {port}", fix)


def _disk_caps(client: docker.DockerClient) -> Finding:
    info = client.info()
    where = f"{info.get('Driver')} at {info.get('DockerRootDir')}"
    if engine_caps_disks(info):
        return Finding("node disk caps", True, f"{where}: each node's disk is capped (disk:)")
    return Finding(
        "node disk caps",
        False,
        f"{where} has no quotas: labs cannot start",
        "run `make setup` (puts Docker's data root on the labs' pool, a btrfs)",
    )


def _uses(settings: Settings, client: docker.DockerClient | None) -> list[Use]:
    uses = [
        Use("database", settings.data_dir, tree_size(settings.data_dir / "praxis.db")),
        Use("recordings", settings.data_dir, tree_size(settings.data_dir / "recordings")),
        Use("VM images", settings.vm_dir, tree_size(settings.vm_dir / "images")),
        Use("VM disks", settings.vm_dir, tree_size(settings.vm_dir / "disks")),
    ]
    cache = settings.package_cache_dir
    uses.append(Use("package cache", cache, tree_size(cache)))
    if client is not None:
        df = client.df()
        root = Path(client.info()["DockerRootDir"])
        uses.append(Use("node images", root, int(df.get("LayersSize") or 0)))
        writes = sum(int(c.get("SizeRw") or 0) for c in df.get("Containers") or [])
        uses.append(Use("nodes' writes", root, writes))
    return uses


def _space(settings: Settings, client: docker.DockerClient | None) -> list[Finding]:
    """Free space on each file system the platform writes to, and what of it uses that."""
    uses = _uses(settings, client)
    found = []
    for source, (path, free, total) in free_space([u.path for u in uses]).items():
        what = ", ".join(f"{u.what} {human(u.size)}" for u in uses if file_system(u.path) == source)
        found.append(
            Finding(
                f"disk {path}",
                free >= LOW_FREE * total,
                f"{human(free)} free of {human(total)} ({source}); {what}",
                "free space there: end old sessions, or move the data elsewhere",
            )
        )
    return found


def diagnose(settings: Settings) -> list[Finding]:
    finding, client = _docker(settings)
    found = [finding]
    if client is not None:
        found.append(_disk_caps(client))
    for name, folder in recipes(settings.images_dir).items():
        current = client is not None and is_current(
            Stores(client, settings.vm_dir / "images"), folder
        )
        found.append(
            Finding(
                f"image {name}",
                current,
                "built and current" if current else "missing or out of date",
                "run `praxis images build`",
            )
        )
    found.append(
        Finding(
            "iptables",
            shutil.which("iptables") is not None,
            "lab bridge firewall",
            "apt-get install iptables",
        )
    )
    found.append(
        _port(
            "package cache",
            settings.cache_port,
            "run `make setup` (starts apt-cacher-ng) for `internet: packages` nodes",
        )
    )
    found += [_fonts(), _inotify(), _libvirt(settings), _vlan(), *_space(settings, client)]
    return found
