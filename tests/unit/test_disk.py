"""Disk: which engines cap a node's disk, where the package cache is, a container's `disk:`."""

from __future__ import annotations

from pathlib import Path

from app.disk import engine_caps_disks, free_space, package_cache_dir, tree_size
from labs.scenario import Node


def test_only_engines_with_quotas_cap_disks() -> None:
    assert engine_caps_disks({"Driver": "btrfs"})
    assert engine_caps_disks({"Driver": "zfs"})
    assert engine_caps_disks(
        {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "xfs"]]}
    )
    assert not engine_caps_disks(
        {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]]}
    )
    assert not engine_caps_disks({})


def test_the_package_cache_is_the_last_cachedir_set(tmp_path: Path) -> None:
    (tmp_path / "acng.conf").write_text("# CacheDir: /nope\nCacheDir: /var/cache/apt-cacher-ng\n")
    assert package_cache_dir(tmp_path) == Path("/var/cache/apt-cacher-ng")
    (tmp_path / "zz-praxis-pool.conf").write_text("CacheDir:  /pool/apt-cacher-ng \n")
    assert package_cache_dir(tmp_path) == Path("/pool/apt-cacher-ng")
    assert package_cache_dir(tmp_path / "missing") is None


def test_sizes_count_a_hard_link_once_and_file_systems_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100_000)
    (tmp_path / "b").hardlink_to(tmp_path / "a")
    assert 100_000 <= tree_size(tmp_path) < 200_000
    assert tree_size(tmp_path / "missing") == 0
    spaces = free_space([tmp_path, tmp_path / "a", tmp_path / "not-yet"])
    assert len(spaces) == 1
    ((path, free, total),) = spaces.values()
    assert path == tmp_path and 0 < free <= total


def test_a_container_node_has_a_disk_cap_a_vm_node_a_disk() -> None:
    assert Node(image="debian-bookworm").disk_bytes == 4 << 30
    assert Node(image="debian-bookworm", disk="1G").disk_bytes == 1 << 30
    assert Node(kind="vm", image="debian-vm", disk="8G").disk_bytes == 8 << 30
