"""The integrity scan on a fake overlay and a fake snapshot: what the candidate changed, judged
against Debian."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from graders.debs import Deb, PackageIndex
from graders.integrity import alias, scan
from graders.layers import Snapshot, UpperLayer

REAL = b"\x7fELF real systemctl"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def lab(tmp_path: Path) -> tuple[Path, Path]:
    """An upper layer (what changed) and the merged root the node sees."""
    upper, root = tmp_path / "upper", tmp_path / "root"
    for base in (upper, root):
        (base / "usr" / "bin").mkdir(parents=True)
        (base / "usr" / "local" / "lib").mkdir(parents=True)
        (base / "etc").mkdir()
    return upper, root


def write(paths: list[Path], name: str, data: bytes, mode: int = 0o755) -> None:
    for base in paths:
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)


INDEX = PackageIndex([Deb("systemd", "252", "amd64", {"/bin/systemctl": md5(REAL)}, ())])


def test_packaged_files_pass_and_forged_ones_are_found(tmp_path: Path) -> None:
    upper, root = lab(tmp_path)
    write([upper, root], "usr/bin/systemctl", REAL)  # installed from a verified deb
    assert scan(UpperLayer(upper), str(root), INDEX).findings == []
    write([upper, root], "usr/bin/systemctl", b"#!/bin/sh\necho active\n")
    write([upper, root], "usr/bin/dpkg-query", b"#!/bin/sh\n")
    write([upper, root], "usr/lib/libfake.so.1", b"\x7fELF", mode=0o644)
    found = {f.path: f.problem for f in scan(UpperLayer(upper), str(root), INDEX).findings}
    assert found["/usr/bin/systemctl"].startswith("changed")
    assert found["/usr/bin/dpkg-query"] == "no verified Debian package ships this file"
    assert "/usr/lib/libfake.so.1" in found


def test_links_preload_and_loader_path(tmp_path: Path) -> None:
    upper, root = lab(tmp_path)
    write([upper, root], "root/fake", b"#!/bin/sh\n")
    for base in (upper, root):
        os.symlink("/root/fake", base / "usr/bin/php")
        os.symlink("/etc/alternatives/x", base / "usr/bin/x")  # dangling: breaks, fakes nothing
    write([upper, root], "etc/ld.so.preload", b"/usr/local/lib/hook.so\n", 0o644)
    write([upper, root], "usr/local/lib/hook.so", b"\x7fELF", 0o644)
    found = {f.path: f.problem for f in scan(UpperLayer(upper), str(root), INDEX).findings}
    assert found["/usr/bin/php"] == "links to /root/fake, which no verified Debian package ships"
    assert "/usr/bin/x" not in found
    assert found["/etc/ld.so.preload"].startswith("preloads")
    assert found["/usr/local/lib/hook.so"].startswith("a library in the loader's path")


def test_merged_directories_share_their_names() -> None:
    assert alias("/bin/sh") == "/usr/bin/sh" and alias("/usr/sbin/apache2") == "/sbin/apache2"
    assert alias("/etc/passwd") == "/etc/passwd"


def snapshot(tmp_path: Path) -> tuple[Path, Path]:
    """An image and a node made from it, as btrfs snapshots look from the host: every file the
    same inode (hard links here) with the same ctime, until the node changes it."""
    image, now = tmp_path / "image", tmp_path / "now"
    write([image], "usr/bin/systemctl", REAL)
    write([image], "usr/bin/cat", b"\x7fELF cat")
    write([image], "usr/bin/ls", b"\x7fELF ls")
    (image / "usr/local/lib").mkdir(parents=True)
    os.symlink("usr/bin", image / "bin")
    for folder, dirs, files in os.walk(image):
        here = now / Path(folder).relative_to(image)
        here.mkdir(parents=True, exist_ok=True)
        for name in dirs + files:
            if (Path(folder) / name).is_symlink() or name in files:
                os.link(Path(folder) / name, here / name, follow_symlinks=False)
    return image, now


def test_a_snapshot_shows_what_the_node_wrote_added_linked_or_replaced(tmp_path: Path) -> None:
    image, now = snapshot(tmp_path)
    changes = Snapshot(now, image)
    assert changes.walk("usr/bin") == [] and not changes.changed("/bin/ls")
    assert scan(changes, str(now), INDEX).findings == []
    (now / "usr/bin/ls").unlink()
    os.link(now / "usr/bin/cat", now / "usr/bin/ls")  # ls is now cat: another inode
    write([now], "usr/bin/dpkg-query", b"#!/bin/sh\n")  # added
    (now / "usr/bin/systemctl").unlink()
    write([now], "usr/bin/systemctl", b"#!/bin/sh\necho active\n")  # replaced
    assert {p for p, _ in changes.walk("usr/bin")} == {
        "/usr/bin/ls", "/usr/bin/dpkg-query", "/usr/bin/systemctl"
    }  # fmt: skip
    assert changes.changed("/bin/ls") and not changes.changed("/bin/cat")
    (now / "usr/bin/cat").unlink()
    assert changes.changed("/usr/bin/cat")  # removed
    assert not changes.changed("/usr/bin/never-there")
    found = {f.path: f.problem for f in scan(changes, str(now), INDEX).findings}
    assert found["/usr/bin/systemctl"].startswith("changed")
    assert found["/usr/bin/dpkg-query"] == "no verified Debian package ships this file"
    assert "/usr/bin/ls" in found


def test_a_merged_directory_turned_into_another_link_is_judged_as_a_link(tmp_path: Path) -> None:
    image, now = snapshot(tmp_path)
    (now / "bin").unlink()
    write([now], "root/evil/ls", b"#!/bin/sh\n")
    os.symlink("/root/evil", now / "bin")
    changes = Snapshot(now, image)
    assert [p for p, _ in changes.walk("bin")] == ["/bin"]  # never walked through
    found = {f.path: f.problem for f in scan(changes, str(now), INDEX).findings}
    assert found == {
        "/bin": "links to /root/evil, whose programs no verified package ships: /root/evil/ls"
    }


def test_debian_s_own_links_to_a_data_directory_and_to_a_conffile_pass(tmp_path: Path) -> None:
    """python3-tinycss2 links its tests to a data directory of another package, python3.11 its
    sitecustomize.py to a conffile in /etc (conffiles have no md5 in a deb's md5sums)."""
    upper, root = lab(tmp_path)
    data = "usr/share/python-tinycss2-common/tests"
    write([upper, root], f"{data}/blocks.json", b"[]", mode=0o644)
    write([upper, root], "etc/python3.11/sitecustomize.py", b"# site\n", mode=0o644)
    for base in (upper, root):
        (base / "usr/lib/python3/dist-packages/tinycss2").mkdir(parents=True)
        os.symlink(f"/{data}", base / "usr/lib/python3/dist-packages/tinycss2/tests")
        (base / "usr/lib/python3.11").mkdir(parents=True)
        os.symlink("/etc/python3.11/sitecustomize.py", base / "usr/lib/python3.11/sitecustomize.py")
    python = Deb("python3.11-minimal", "3.11.2", "amd64", {}, ("/etc/python3.11/sitecustomize.py",))
    index = PackageIndex([python])
    assert scan(UpperLayer(upper), str(root), index).findings == []
    write([upper, root], f"{data}/helper", b"#!/bin/sh\n")  # a program hidden in the data
    found = {f.path: f.problem for f in scan(UpperLayer(upper), str(root), index).findings}
    assert found["/usr/lib/python3/dist-packages/tinycss2/tests"].endswith(f"/{data}/helper")
    other = PackageIndex([Deb("x", "1", "all", {}, ())])  # sitecustomize.py from no package
    found = {f.path: f.problem for f in scan(UpperLayer(upper), str(root), other).findings}
    assert found["/usr/lib/python3.11/sitecustomize.py"].endswith(
        "no verified Debian package ships"
    )
