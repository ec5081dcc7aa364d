"""VM base images: a folder per image under the VM store, a qcow2 disk and what boots it.

Built ones (`praxis images build debian-vm`) hold a kernel and an initrd that QEMU boots
directly (no boot loader, the root is the whole disk); imported ones (`praxis images import`,
a Windows Server or a pfSense an instructor brings) boot from their own disk's firmware
path. `image.json` says which, with the recipe hash that makes a build skip when current.
Sessions never write here: each VM gets a copy-on-write overlay over `disk.qcow2`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from labs.scenario import NAME

OS = Literal["linux", "windows", "other"]
MANIFEST = "image.json"
MAX_VIRTUAL_SIZE = 512 << 30  # a typo in an import, not a base image


class VMImageError(Exception):
    """An image that is missing, unreadable, or not a usable qcow2 disk."""


@dataclass(frozen=True)
class VMImage:
    name: str
    os: OS
    boot: Literal["kernel", "firmware"]  # direct kernel boot (built) or the disk's own
    virtual_size: int  # bytes: an overlay is never smaller
    recipe: str  # the recipe's hash, or "imported"
    folder: Path

    @property
    def disk(self) -> Path:
        return self.folder / "disk.qcow2"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"


def load(store: Path, name: str) -> VMImage | None:
    """The image `name`, or None when it was never built or imported (or is incomplete).
    Its folder is the current version's real path (see `_publish`)."""
    folder = (store / name).resolve()
    try:
        data = json.loads((folder / MANIFEST).read_text())
        image = VMImage(folder=folder, **data)
    except (OSError, ValueError, TypeError):
        return None
    return image if image.disk.is_file() else None


def images(store: Path) -> list[VMImage]:
    """Every complete image in the store, by name."""
    found = (load(store, p.name) for p in sorted(store.iterdir())) if store.is_dir() else ()
    return [image for image in found if image is not None]


def missing_reason(name: str) -> str:
    """One line for an operator: which image is missing and how to get it."""
    return (
        f"VM image {name} is not on this host: build it (`praxis images build {name}`) if "
        f"images/{name}/ has a recipe, else import it (`praxis images import {name} --qcow2 "
        "PATH`, see README: VM images)"
    )


def qemu_img_info(path: Path) -> dict[str, object]:
    done = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())  # one line, for a one-line error
        raise VMImageError(f"{path}: not a disk image qemu can read: {reason}")
    info: dict[str, object] = json.loads(done.stdout)
    return info


def _write(folder: Path, image: VMImage) -> VMImage:
    data = asdict(image)
    del data["folder"]
    (folder / MANIFEST).write_text(json.dumps(data, indent=2) + "\n")
    for path in folder.iterdir():  # QEMU runs as its own user: it reads, never writes, these
        path.chmod(0o644)
    folder.chmod(0o755)
    return image


def _publish(store: Path, name: str, staging: Path) -> None:
    """Make a new version of the image the current one: `store/name` is a link to it, swapped
    in one rename. Earlier versions stay: the overlays of sessions made from them name their
    base by its real path, and a VM restarted at the cut-off reopens it."""
    versions = store / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for folder in (store, versions):
        folder.chmod(0o755)
    # Unique even for two versions made within one second by one process.
    version = versions / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    os.rename(staging, version)
    link = store / f".{name}.link"
    link.unlink(missing_ok=True)
    link.symlink_to(version.relative_to(store))
    target = store / name
    if target.is_dir() and not target.is_symlink():  # a folder from before versions
        os.rename(target, versions / f"{name}-unversioned-{os.getpid()}")
    os.replace(link, target)


def store_built(
    store: Path, name: str, raw_disk: Path, kernel: Path, initrd: Path, recipe: str
) -> VMImage:
    """Convert a built root file system image into the store, with its kernel and initrd."""
    staging = store / f".{name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _qemu_img(["convert", "-O", "qcow2", str(raw_disk), str(staging / "disk.qcow2")])
    shutil.copy(kernel, staging / "vmlinuz")
    shutil.copy(initrd, staging / "initrd.img")
    size = int(qemu_img_info(staging / "disk.qcow2")["virtual-size"])  # type: ignore[call-overload]
    _write(staging, VMImage(name, "linux", "kernel", size, recipe, staging))
    _publish(store, name, staging)
    image = load(store, name)
    assert image is not None
    return image


def import_image(store: Path, name: str, source: Path, os_kind: OS) -> VMImage:
    """Copy an instructor's qcow2 disk into the store, checked first. Raises VMImageError."""
    if not re.match(NAME, name):  # a folder of the store: nothing like ../x
        raise VMImageError(f"{name!r}: use lowercase letters, digits and dashes, from a letter")
    if not source.is_file():
        raise VMImageError(f"{source}: no such file")
    info = qemu_img_info(source)
    if info.get("format") != "qcow2":
        raise VMImageError(
            f"{source}: format is {info.get('format')}, not qcow2 "
            f"(convert it: qemu-img convert -O qcow2 {source} disk.qcow2)"
        )
    if info.get("backing-filename"):
        raise VMImageError(
            f"{source}: has a backing file; import a standalone disk "
            f"(qemu-img convert -O qcow2 {source} disk.qcow2)"
        )
    specific = info.get("format-specific")
    data = specific.get("data") if isinstance(specific, dict) else None
    if isinstance(data, dict) and data.get("data-file"):  # its clusters live in another file
        raise VMImageError(f"{source}: keeps its data in an external file; import a whole disk")
    size = int(info.get("virtual-size") or 0)  # type: ignore[call-overload]
    if not 0 < size <= MAX_VIRTUAL_SIZE:
        raise VMImageError(f"{source}: virtual size {size} bytes is not a plausible disk")
    check = subprocess.run(["qemu-img", "check", str(source)], capture_output=True, text=True)
    if check.returncode not in (0, 3):  # 3: leaked clusters only, harmless
        reason = " ".join((check.stdout.strip() or check.stderr).split())[-300:]  # the summary
        raise VMImageError(f"{source}: the qcow2 is damaged: {reason}")
    staging = store / f".{name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy(source, staging / "disk.qcow2")
    _write(staging, VMImage(name, os_kind, "firmware", size, "imported", staging))
    _publish(store, name, staging)
    image = load(store, name)
    assert image is not None
    return image


def _qemu_img(args: list[str]) -> None:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise VMImageError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")
