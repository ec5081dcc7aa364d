"""Where the platform's disk goes: free space per file system and what uses it (`praxis doctor`).

A lab's own writes are capped by the engine (a node's `disk:`, see labs.docker_driver); what
is left to watch is the host's file systems and the platform's own stores.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# Docker storage drivers that cap a container's writable layer (`--storage-opt size=`); overlay2
# does only on xfs mounted with pquota.
CAPPING_DRIVERS = {"btrfs", "zfs"}
LOW_FREE = 0.10  # a file system with less free than this is reported
ACNG_CONFIG = Path("/etc/apt-cacher-ng")


@dataclass(frozen=True)
class Use:
    what: str
    path: Path
    size: int  # bytes


def engine_caps_disks(info: dict[str, object]) -> bool:
    """Whether this Docker engine (its `info`) can cap a container's disk."""
    driver = str(info.get("Driver", ""))
    pairs = info.get("DriverStatus") or []
    status = {str(k): str(v) for k, v in pairs} if isinstance(pairs, list) else {}
    backing = status.get("Backing Filesystem", "")
    return driver in CAPPING_DRIVERS or (driver == "overlay2" and backing == "xfs")


def tree_size(path: Path) -> int:
    """Bytes under `path` (files only, each hard link once), 0 when it is missing."""
    total, seen = 0, set()
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def package_cache_dir(config: Path = ACNG_CONFIG) -> Path | None:
    """apt-cacher-ng's CacheDir: the last one its *.conf files set, in the order it reads them."""
    found = None
    for conf in sorted(config.glob("*.conf")):
        for line in conf.read_text(errors="replace").splitlines():
            match = re.match(r"\s*CacheDir\s*:\s*(\S+)", line)
            if match:
                found = Path(match.group(1))
    return found


def _mounts() -> list[tuple[str, Path]]:
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [(line.split()[0], Path(line.split()[1])) for line in lines]


def file_system(path: Path) -> str:
    """What holds `path`: its mount's source device (a bind mount, or a btrfs subvolume with
    its own st_dev, is the same file system)."""
    path = path.resolve()
    source, _ = max(
        ((s, m) for s, m in _mounts() if path.is_relative_to(m)), key=lambda sm: len(sm[1].parts)
    )
    return source


def free_space(paths: list[Path]) -> dict[str, tuple[Path, int, int]]:
    """(first path, free, total bytes) of each file system that holds one of `paths`."""
    out = {}
    for path in paths:
        source = file_system(path)
        if source not in out:
            while not path.exists():
                path = path.parent
            usage = shutil.disk_usage(path)
            out[source] = (path, usage.free, usage.total)
    return out


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
