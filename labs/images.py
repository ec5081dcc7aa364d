"""Build node images locally from `images/<name>/` recipes: debootstrap, then `docker import`
(containers) or a qcow2 base disk with its kernel (VMs, see labs.vm_images).

There is no registry. A container image is tagged `praxis/<name>:latest` and labelled with
the hash of its recipe folder, a VM image keeps that hash in its manifest, so building again
when nothing changed does nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors
import yaml
from pydantic import BaseModel, ConfigDict

from labs import vm_images
from labs.scenario import parse_memory, tree_hash

RECIPE = "image.yaml"
HASH_LABEL = "praxis.recipe"
Progress = Callable[[str], None]


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["container", "vm"] = "container"
    suite: str
    mirror: str
    packages: list[str] = []
    cmd: list[str] = []
    env: dict[str, str] = {}
    disk: str = "2G"  # VMs: the base disk's file system size


@dataclass(frozen=True)
class Stores:
    """Where built images go: the Docker engine (containers) and the VM store (a folder)."""

    docker: docker.DockerClient
    vms: Path


class ImageBuildError(Exception):
    """A recipe that cannot be read or a build step that failed."""


def image_tag(name: str) -> str:
    return f"praxis/{name}:latest"


def recipes(root: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in sorted(root.glob(f"*/{RECIPE}"))}


def _kind(folder: Path) -> str:
    try:
        return str((yaml.safe_load((folder / RECIPE).read_text()) or {}).get("kind", "container"))
    except (OSError, yaml.YAMLError, AttributeError):
        return "container"


def is_current(stores: Stores, folder: Path) -> bool:
    if _kind(folder) == "vm":
        image = vm_images.load(stores.vms, folder.name)
        return image is not None and image.recipe == tree_hash(folder)
    try:
        image = stores.docker.images.get(image_tag(folder.name))
    except docker.errors.ImageNotFound:
        return False
    return bool(image.labels.get(HASH_LABEL) == tree_hash(folder))


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ImageBuildError(f"{what} failed ({done.returncode}):\n" + "\n".join(tail))


def build(stores: Stores, folder: Path, progress: Progress = print, force: bool = False) -> bool:
    """Build one image unless it is current. Returns True when it built. Raises ImageBuildError."""
    if not force and is_current(stores, folder):
        progress(f"{folder.name}: up to date")
        return False
    try:
        recipe = Recipe.model_validate(yaml.safe_load((folder / RECIPE).read_text()))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ImageBuildError(f"{folder / RECIPE}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="praxis-image-") as tmp:
        root = Path(tmp) / "root"
        progress(
            f"{folder.name}: debootstrap {recipe.suite} ({len(recipe.packages)} extra packages)"
        )
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(recipe.packages)}",
                recipe.suite,
                str(root),
                recipe.mirror,
            ],
            "debootstrap",
        )
        if (folder / "rootfs").is_dir():
            shutil.copytree(folder / "rootfs", root, dirs_exist_ok=True, symlinks=True)
        if (folder / "setup.sh").is_file():
            shutil.copy(folder / "setup.sh", root / "praxis-setup.sh")
            _run(["chroot", str(root), "/bin/sh", "/praxis-setup.sh"], "setup.sh")
            (root / "praxis-setup.sh").unlink()
        if recipe.kind == "vm":
            _store_vm(stores.vms, folder, recipe, root, Path(tmp), progress)
            return True
        progress(f"{folder.name}: importing into docker")
        archive = Path(tmp) / "root.tar"
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive), "."], "tar")
        changes = [
            f"CMD {recipe.cmd!r}".replace("'", '"'),
            f"LABEL {HASH_LABEL}={tree_hash(folder)}",
        ]
        changes += [f"ENV {k}={v}" for k, v in recipe.env.items()]
        with archive.open("rb") as stream:
            stores.docker.api.import_image(
                src=stream, repository=f"praxis/{folder.name}", tag="latest", changes=changes
            )
    progress(f"{folder.name}: built {image_tag(folder.name)}")
    return True


def _store_vm(
    store: Path, folder: Path, recipe: Recipe, root: Path, tmp: Path, progress: Progress
) -> None:
    """The root file system as a whole-disk ext4 (no partition table: QEMU boots the kernel
    kept beside it with root=/dev/vda), converted into the VM store."""
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise ImageBuildError(
            f"{folder / RECIPE}: a VM recipe must install a kernel (linux-image-*)"
        )
    raw = tmp / "disk.raw"
    progress(f"{folder.name}: making the {recipe.disk} disk")
    size_mib = parse_memory(recipe.disk) >> 20
    _run(["mkfs.ext4", "-q", "-L", "root", "-d", str(root), str(raw), f"{size_mib}M"], "mkfs.ext4")
    try:
        vm_images.store_built(store, folder.name, raw, kernels[-1], initrds[-1], tree_hash(folder))
    except vm_images.VMImageError as exc:
        raise ImageBuildError(str(exc)) from exc
    progress(f"{folder.name}: built {store / folder.name}")
