"""Build node images locally from `images/<name>/` recipes: debootstrap + `docker import`.

There is no registry. An image is tagged `praxis/<name>:latest` and labelled with the hash
of its recipe folder, so building again when nothing changed does nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import yaml
from pydantic import BaseModel, ConfigDict

from labs.scenario import tree_hash

RECIPE = "image.yaml"
HASH_LABEL = "praxis.recipe"
Progress = Callable[[str], None]


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    suite: str
    mirror: str
    packages: list[str] = []
    cmd: list[str]
    env: dict[str, str] = {}


class ImageBuildError(Exception):
    """A recipe that cannot be read or a build step that failed."""


def image_tag(name: str) -> str:
    return f"praxis/{name}:latest"


def recipes(root: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in sorted(root.glob(f"*/{RECIPE}"))}


def is_current(client: docker.DockerClient, folder: Path) -> bool:
    try:
        image = client.images.get(image_tag(folder.name))
    except docker.errors.ImageNotFound:
        return False
    return bool(image.labels.get(HASH_LABEL) == tree_hash(folder))


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ImageBuildError(f"{what} failed ({done.returncode}):\n" + "\n".join(tail))


def build(
    client: docker.DockerClient, folder: Path, progress: Progress = print, force: bool = False
) -> bool:
    """Build one image unless it is current. Returns True when it built. Raises ImageBuildError."""
    if not force and is_current(client, folder):
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
        progress(f"{folder.name}: importing into docker")
        archive = Path(tmp) / "root.tar"
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive), "."], "tar")
        changes = [
            f"CMD {recipe.cmd!r}".replace("'", '"'),
            f"LABEL {HASH_LABEL}={tree_hash(folder)}",
        ]
        changes += [f"ENV {k}={v}" for k, v in recipe.env.items()]
        with archive.open("rb") as stream:
            client.api.import_image(
                src=stream, repository=f"praxis/{folder.name}", tag="latest", changes=changes
            )
    progress(f"{folder.name}: built {image_tag(folder.name)}")
    return True
