"""Reading a hostile root from the host: links resolve inside it, never on the host."""

from __future__ import annotations

import os
from pathlib import Path

from graders import rootfs


def make_root(tmp_path: Path) -> tuple[str, Path]:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "usr" / "bin").mkdir(parents=True)
    secret = tmp_path / "host-secret"
    secret.write_text("host only")
    return str(root), secret


def test_absolute_and_relative_links_stay_inside_the_root(tmp_path: Path) -> None:
    root, secret = make_root(tmp_path)
    os.symlink(str(secret), f"{root}/etc/abs")  # absolute: means the node's own path
    os.symlink("../../../../../../host-secret", f"{root}/etc/up")  # `..` stops at the root
    os.symlink("/etc", f"{root}/usr/bin/cfg")  # a directory link, then a name below it
    assert rootfs.read(root, "/etc/abs", 100) is None
    assert rootfs.read(root, "/etc/up", 100) is None
    info = rootfs.read(root, "/usr/bin/cfg/passwd", 100)
    assert (
        info is not None
        and info.path == "/etc/passwd"
        and info.content == b"root:x:0:0::/root:/bin/sh\n"
    )


def test_content_is_capped_and_kinds_are_reported(tmp_path: Path) -> None:
    root, _ = make_root(tmp_path)
    Path(root, "big").write_bytes(b"x" * 5000)
    big = rootfs.read(root, "/big", 1000)
    assert big is not None and len(big.content or b"") == 1000 and big.truncated
    folder = rootfs.read(root, "/etc", 10)
    assert folder is not None and folder.kind == "dir" and folder.content is None
    os.mkfifo(f"{root}/etc/fifo")  # a reader would block forever on a FIFO: never opened
    fifo = rootfs.read(root, "/etc/fifo", 10)
    assert fifo is not None and fifo.kind == "other"


def test_loops_and_missing_parts_are_absent_files(tmp_path: Path) -> None:
    root, _ = make_root(tmp_path)
    os.symlink("b", f"{root}/a")
    os.symlink("a", f"{root}/b")
    assert rootfs.read(root, "/a", 10) is None
    assert rootfs.read(root, "/nope/x", 10) is None
    assert rootfs.read(root, "/etc/passwd/x", 10) is None
