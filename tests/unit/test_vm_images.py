"""Importing VM images: what is refused (and how it is said), what the store holds after."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from labs.vm_images import VMImageError, images, import_image, load


def qemu_img(*args: str | Path) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True)


@pytest.fixture
def disks(tmp_path: Path) -> Path:
    """One file per way an import can go wrong, and one good disk."""
    folder = tmp_path / "disks"
    folder.mkdir()
    qemu_img("create", "-q", "-f", "qcow2", folder / "good.qcow2", "2G")
    qemu_img("create", "-q", "-f", "qcow2", folder / "other.qcow2", "3G")
    with (folder / "raw.img").open("wb") as raw:
        raw.truncate(16 << 20)
    qemu_img("create", "-q", "-f", "qcow2", folder / "base.qcow2", "1G")
    overlay = ["-b", folder / "base.qcow2", "-F", "qcow2", folder / "overlay.qcow2"]
    qemu_img("create", "-q", "-f", "qcow2", *overlay)
    qemu_img("create", "-q", "-f", "qcow2", folder / "zero.qcow2", "0")
    external = ["-o", f"data_file={folder / 'data.raw'}", folder / "external.qcow2", "1G"]
    qemu_img("create", "-q", "-f", "qcow2", *external)
    qemu_img("create", "-q", "-f", "qcow2", folder / "damaged.qcow2", "64M")
    subprocess.run(
        ["qemu-io", "-c", "write -P 0x55 0 1M", str(folder / "damaged.qcow2")],
        check=True,
        capture_output=True,
    )
    with (folder / "damaged.qcow2").open("r+b") as damaged:
        damaged.seek(48)  # the header's refcount table offset
        damaged.write(struct.pack(">Q", 0))
    (folder / "text.qcow2").write_bytes(b"QFI\xfb" + b"\xff" * 1020)
    return folder


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("raw.img", "format is raw, not qcow2 (convert it: qemu-img convert -O qcow2"),
        ("overlay.qcow2", "has a backing file; import a standalone disk"),
        ("zero.qcow2", "virtual size 0 bytes is not a plausible disk"),
        ("external.qcow2", "keeps its data in an external file"),
        ("damaged.qcow2", "the qcow2 is damaged: "),
        ("text.qcow2", "not a disk image qemu can read: "),
        ("absent.qcow2", "no such file"),
    ],
)
def test_a_disk_that_cannot_serve_as_a_base_is_refused_and_nothing_is_stored(
    disks: Path, tmp_path: Path, source: str, says: str
) -> None:
    store = tmp_path / "store"
    with pytest.raises(VMImageError) as refused:
        import_image(store, "win", disks / source, "windows")
    assert says in str(refused.value) and "\n" not in str(refused.value)
    assert str(disks / source) in str(refused.value)
    assert load(store, "win") is None and images(store) == []


@pytest.mark.parametrize("name", ["../escape", "Win", "a/b", "", "-x", "x" * 40])
def test_a_name_that_is_no_plain_folder_name_is_refused(
    disks: Path, tmp_path: Path, name: str
) -> None:
    with pytest.raises(VMImageError, match="lowercase letters"):
        import_image(tmp_path / "store", name, disks / "good.qcow2", "windows")
    assert not (tmp_path / "escape").exists()


def test_an_import_boots_from_its_own_disk_and_a_new_one_leaves_the_old_for_sessions(
    disks: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    first = import_image(store, "win", disks / "good.qcow2", "windows")
    assert (first.os, first.boot, first.recipe) == ("windows", "firmware", "imported")
    assert first.virtual_size == 2 << 30
    assert first.disk.read_bytes() == (disks / "good.qcow2").read_bytes()
    assert load(store, "win") == first
    second = import_image(store, "win", disks / "other.qcow2", "windows")
    assert second.folder != first.folder and second.virtual_size == 3 << 30
    assert first.disk.is_file()  # an overlay made from the first still finds its base
    assert [image.name for image in images(store)] == ["win"]
    assert images(store)[0] == second


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PRAXIS_VM_DIR", str(tmp_path / "vm"))
    monkeypatch.setenv("PRAXIS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "vm"
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["win", "--qcow2", "{disks}/raw.img"], "format is raw, not qcow2"),
        (["win", "--qcow2", "{disks}/overlay.qcow2"], "has a backing file"),
        (["win", "--qcow2", "{disks}/zero.qcow2"], "virtual size 0 bytes"),
        (["debian-vm", "--qcow2", "{disks}/good.qcow2"], "is built from images/debian-vm/"),
    ],
)
def test_the_command_says_why_in_one_line_and_fails(
    disks: Path, cli_env: Path, args: list[str], says: str
) -> None:
    argv = ["images", "import", *(a.format(disks=disks) for a in args)]
    done = CliRunner().invoke(cli, argv)
    assert done.exit_code == 1
    assert says in done.output and len(done.output.strip().splitlines()) == 1, done.output
    assert images(cli_env / "images") == []


def test_the_command_imports_and_says_where(disks: Path, cli_env: Path) -> None:
    argv = ["images", "import", "win", "--qcow2", str(disks / "good.qcow2"), "--os", "windows"]
    done = CliRunner().invoke(cli, argv)
    assert done.exit_code == 0, done.output
    image = load(cli_env / "images", "win")
    assert image is not None and image.os == "windows"
    assert done.output.startswith(f"imported win: windows, 2.0 GiB disk, {image.folder}")
