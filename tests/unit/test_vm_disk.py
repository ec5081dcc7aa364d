"""The frozen VM disk as the grader reads it: real ext4 images (mkfs.ext4 -d), real qcow2
layers (qemu-img), changed in the ways a root candidate could, read with debugfs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from graders.debs import PackageIndex
from graders.vm_disk import Ext4Image, FrozenDisk, Written, raw_copy, scan


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for folder in ("usr/bin", "usr/lib", "etc", "root"):
        (root / folder).mkdir(parents=True)
    (root / "usr/bin/tool").write_text("#!/bin/sh\necho real\n")
    (root / "usr/bin/tool").chmod(0o755)
    (root / "usr/bin/other").write_text("#!/bin/sh\necho other\n")
    (root / "usr/bin/other").chmod(0o755)
    (root / "bin").symlink_to("usr/bin")
    (root / "etc/hostname").write_text("vm\n")
    (root / "etc/loop").symlink_to("loop")
    (root / "etc/deep").symlink_to("../bin/tool")
    _sh("mkfs.ext4", "-q", "-d", str(root), str(tmp_path / "base.raw"), "16M")
    _sh(
        "qemu-img",
        "convert",
        "-O",
        "qcow2",
        str(tmp_path / "base.raw"),
        str(tmp_path / "base.qcow2"),
    )
    return tmp_path


def _freeze(folder: Path, *edits: str) -> FrozenDisk:
    """The candidate's changes (debugfs write commands) as a qcow2 layer over the base."""
    work = folder / "work.raw"
    _sh("cp", str(folder / "base.raw"), str(work))
    script = folder / "edits"
    script.write_text("\n".join(edits) + "\n")
    _sh("debugfs", "-w", "-f", str(script), str(work))  # one session: a journal stays open
    layer = folder / "frozen.qcow2"
    _sh(
        "qemu-img", "convert", "-O", "qcow2", "-B", str(folder / "base.qcow2"), "-F", "qcow2",
        str(work), str(layer),
    )  # fmt: skip
    raw = raw_copy(layer, folder / "frozen.raw")
    frozen = Ext4Image(raw)
    return FrozenDisk(frozen, Ext4Image(folder / "base.raw"), Written.of(layer, frozen.block_size))


def test_files_are_read_with_links_resolved_inside_the_vm(base: Path) -> None:
    disk = _freeze(base)
    info = disk.read("/bin/tool", 1024)
    assert info is not None and info.path == "/usr/bin/tool"
    assert info.content == b"#!/bin/sh\necho real\n" and info.mode == 0o755
    deep = disk.read("/etc/deep", 1024)
    assert deep is not None and deep.path == "/usr/bin/tool"
    assert disk.read("/etc/missing", 10) is None
    assert disk.read("/etc/hostname", 1) == disk.read("/etc/hostname", 1)
    cut = disk.read("/etc/hostname", 1)
    assert cut is not None and cut.content == b"v" and cut.truncated
    with pytest.raises(OSError):
        disk.resolve("/etc/loop")
    assert disk.read('/etc/"quoted', 10) is None  # never reaches debugfs's parser


def test_an_untouched_disk_has_no_change(base: Path) -> None:
    disk = _freeze(base)
    assert not disk.changed("/usr/bin/tool") and not disk.changed("/etc/hostname")
    assert scan(disk, PackageIndex()).findings == []


def test_a_replaced_program_is_changed_and_found(base: Path) -> None:
    fake = base / "fake"
    fake.write_text("#!/bin/sh\necho fake\n")
    disk = _freeze(
        base, "rm /usr/bin/tool", f"write {fake} /usr/bin/tool", "sif /usr/bin/tool mode 0100755"
    )
    assert disk.changed("/usr/bin/tool") and not disk.changed("/usr/bin/other")
    found = scan(disk, PackageIndex())
    assert [f.path for f in found.findings] == ["/usr/bin/tool"]


def test_a_block_rewritten_in_place_is_found(base: Path) -> None:
    """The inode untouched (same size, same times): only the written clusters tell."""
    disk = _freeze(base, "zap_block -f /usr/bin/tool -p 0x41 0")
    assert disk.read("/usr/bin/tool", 4)  # still there, same inode
    assert disk.changed("/usr/bin/tool")
    assert [f.path for f in scan(disk, PackageIndex()).findings] == ["/usr/bin/tool"]


def test_links_out_of_the_system_and_preloads_are_found(base: Path) -> None:
    fake = base / "fake"
    fake.write_text("#!/bin/sh\necho fake\n")
    disk = _freeze(
        base,
        f"write {fake} /root/fake",
        "rm /usr/bin/other",
        "symlink /usr/bin/other /root/fake",
        f"write {fake} /etc/ld.so.preload",
    )
    problems = {f.path: f.problem for f in scan(disk, PackageIndex()).findings}
    assert "links to /root/fake" in problems["/usr/bin/other"]
    assert "preloads" in problems["/etc/ld.so.preload"]


def test_writes_left_in_the_journal_are_read(base: Path) -> None:
    """A VM whose power was cut has its last writes in the ext4 journal only: the grader's
    copy replays it (in user space) before reading."""
    block = subprocess.run(
        ["debugfs", "-R", "bmap /etc/hostname 0", str(base / "base.raw")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    new = base / "block"
    new.write_bytes(b"changed\n".ljust(1024, b"\0"))
    disk = _freeze(base, "jo", f"jw -b {block} {new}", "jc")
    info = disk.read("/etc/hostname", 8)
    assert info is not None and info.content == b"cha"  # the file's 3 bytes, from the journal
