"""The `praxis` command: serve, build or import images, check and test scenarios, operate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from app.catalog import Catalog
from app.cli_hosts import hosts_cli
from app.cli_scenario import scenario_cli
from app.config import get_settings
from app.errors import Conflict
from app.models import Role

if TYPE_CHECKING:
    from labs.images import Stores

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Praxis: hands-on IT exams.")
images_cli = typer.Typer(
    no_args_is_help=True, help="Node images: built here from images/, or VM images imported."
)
user_cli = typer.Typer(no_args_is_help=True, help="Staff accounts.")
cli.add_typer(hosts_cli, name="hosts")
cli.add_typer(images_cli, name="images")
cli.add_typer(scenario_cli, name="scenario")
cli.add_typer(user_cli, name="user")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@cli.command()
def serve() -> None:
    """Serve the API and run the session controller (one process)."""
    from app.main import serve as run

    run(get_settings())


@images_cli.command("build")
def images_build(
    names: Annotated[list[str] | None, typer.Argument()] = None,
    force: bool = typer.Option(False, help="Rebuild even when current."),
) -> None:
    """Build node images from images/<name>/ (skips those whose recipe did not change)."""
    from app.backends import image_stores
    from labs.images import ImageBuildError, build, recipes

    settings = get_settings()
    stores = image_stores(settings)
    available = recipes(settings.images_dir)
    for name in names or list(available):
        if name not in available:
            err.print(f"no recipe images/{name}/image.yaml; known: {', '.join(available)}")
            raise typer.Exit(1)
        try:
            build(stores, available[name], out.print, force)
        except ImageBuildError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc


class ImageOS(StrEnum):
    windows = "windows"
    linux = "linux"
    other = "other"


@images_cli.command("import")
def images_import(
    name: Annotated[str, typer.Argument(help="The name scenarios give as a VM node's image.")],
    qcow2: Annotated[Path, typer.Option(help="The disk: a standalone qcow2 file.")],
    os_kind: Annotated[ImageOS, typer.Option("--os", help="Its system.")] = ImageOS.other,
    check: Annotated[
        bool,
        typer.Option(help="Then boot it in a throwaway lab: root must log in with its key."),
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --check: seconds it may take.")] = 600,
) -> None:
    """Import a VM image an instructor prepared (Windows Server, a firewall...): it boots
    from its own disk, takes its address by DHCP and its session's key from SMBIOS (see
    README: VM images: importing Windows Server)."""
    from labs.images import recipes
    from labs.vm_images import VMImageError, import_image

    settings = get_settings()
    if name in recipes(settings.images_dir):
        _fail(f"{name} is built from images/{name}/: import under another name")
    try:
        image = import_image(settings.vm_dir / "images", name, qcow2, os_kind.value)
    except (VMImageError, OSError) as exc:
        _fail(str(exc))
    out.print(
        f"imported {name}: {os_kind.value}, {_size(image.virtual_size)} disk, {image.folder}",
        soft_wrap=True,
    )
    if check:
        try:
            _boot_check(name, image.os, timeout)
        except Exception as exc:  # LabError, a lab that never answered
            _fail(f"{name}: imported, but the check failed: {exc}")


def _fail(message: str) -> NoReturn:
    err.print(message, style="red", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _boot_check(name: str, os_kind: str, timeout: float) -> None:
    """What a session needs of the image, once, in a one-VM trial lab: an SSH banner, then
    root logged in with the session's key (which the image must take from SMBIOS). The lab is
    removed whatever happens. Raises with the reason."""
    import secrets
    import time

    from app.backends import lab_driver, trials_of
    from app.db import instance_id
    from graders.contract import NodeUnreachable
    from graders.transport import load_key, wait_ready
    from labs.driver import Access
    from labs.keys import new_keypair, new_password
    from labs.scenario import Node, Scenario, Text

    memory = "4G" if os_kind == "windows" else "1G"
    node = Node(kind="vm", image=name, cpus=2, memory=memory, display=True)
    title = Text(fr=f"Essai de l'image {name}", en=f"Trial of image {name}")
    scenario = Scenario(
        id="image-check", title=title, duration="1h", nodes={"vm": node}, criteria=[]
    )
    driver = lab_driver(get_settings(), trials_of(instance_id(_engine())))
    session_id, deadline = "i" + secrets.token_hex(5), time.monotonic() + timeout
    keys = new_keypair()
    out.print(f"lab {session_id}: booting {name} (at most {timeout:g}s)")
    try:
        access = Access(keys.public, "candidat", new_password())
        address = driver.create(session_id, scenario, access)["vm"].address
        _wait_banner(address, deadline)
        out.print(f"{address}: sshd answers")
        try:  # the same wait as every session's (`exit 0`: sh, cmd.exe and PowerShell alike)
            wait_ready(address, load_key(keys.private), max(1.0, deadline - time.monotonic()))
        except NodeUnreachable as exc:
            raise TimeoutError(
                f"sshd answers, but root did not log in with the key: {exc}"
            ) from exc
        out.print(f"root@{address}: logged in with the session's key")
    finally:
        driver.destroy(session_id)
        out.print(f"lab {session_id}: removed")


def _wait_banner(address: str, deadline: float) -> None:
    import socket
    import time

    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, 22), timeout=3) as conn:
                conn.settimeout(5)
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(
        f"{address}:22 gave no SSH banner in time (an imported system must take its address "
        "by DHCP and start sshd at boot)"
    )


@images_cli.command("list")
def images_list() -> None:
    """Container and VM images on this host, built or imported."""
    import docker.errors

    from app.backends import image_stores
    from labs.images import HASH_LABEL, recipes
    from labs.vm_images import images

    settings = get_settings()
    stores = image_stores(settings)
    available = recipes(settings.images_dir)
    table = Table("name", "kind", "source", "size", "os")
    for image in images(stores.vms):
        source = (
            "imported"
            if image.recipe == "imported"
            else _recipe_state(stores, available, image.name)
        )
        size = sum(p.stat().st_size for p in image.folder.iterdir() if p.is_file())
        table.add_row(
            image.name, "vm", source, f"{_size(size)} (disk {_size(image.virtual_size)})", image.os
        )
    try:
        containers = stores.docker.images.list(filters={"reference": "praxis/*:latest"})
    except docker.errors.DockerException as exc:
        containers = []
        err.print(f"container images not listed: {exc}", markup=False)
    for container in containers:
        name = container.tags[0].removeprefix("praxis/").removesuffix(":latest")
        source = _recipe_state(stores, available, name) if container.labels.get(HASH_LABEL) else "?"
        table.add_row(name, "container", source, _size(container.attrs.get("Size", 0)), "linux")
    out.print(table)


def _recipe_state(stores: Stores, available: dict[str, Path], name: str) -> str:
    from labs.images import is_current

    if name not in available:
        return "built (recipe gone)"
    return "built" if is_current(stores, available[name]) else "built (recipe changed)"


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


@cli.command()
def reap(
    session: Annotated[
        str | None, typer.Argument(help="Only this session's lab (e.g. a kept trial's).")
    ] = None,
) -> None:
    """Remove this platform's lab objects (containers, networks, firewall rules) that no live
    session owns, and its scenario trials' labs; another platform's are left alone."""
    from app.backends import lab_driver, platform_driver, trials_of
    from app.controller import Controller
    from app.db import instance_id

    settings, engine = get_settings(), _engine()
    catalog = Catalog(settings.scenarios_dir, settings.node_capabilities)
    instance = instance_id(engine)
    driver = platform_driver(settings, engine, catalog, instance, lab_driver(settings, instance))
    try:
        reaped = Controller(engine, settings, driver, catalog).reap(only=session)
    except Conflict as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    trials = lab_driver(settings, trials_of(instance_id(engine)))
    for session_id in trials.sessions():  # trial labs kept with --keep: never a live session
        if session in (None, session_id):
            trials.destroy(session_id)
            reaped.add(session_id)
    if session is not None and not reaped:
        err.print(f"no lab of session {session} on this platform", markup=False)
        raise typer.Exit(1)
    out.print(f"reaped {len(reaped)} lab(s){': ' + ', '.join(sorted(reaped)) if reaped else ''}")


def _engine() -> Engine:
    from app.db import make_engine, migrate

    engine = make_engine(get_settings().db_url)
    migrate(engine)
    return engine


def _ask_password() -> str:
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    return password


@user_cli.command("create")
def user_create(
    name: str,
    role: Annotated[Role, typer.Option(help="admin, examiner or instructor")] = Role.examiner,
    password: Annotated[
        bool, typer.Option(help="Also set a password to sign in from a browser.")
    ] = False,
) -> None:
    """Create a staff user and print their API token (shown once)."""
    from app.auth import create_user, set_password
    from app.db import unit_of_work

    secret = _ask_password() if password else None
    try:
        with unit_of_work(_engine()) as db:
            token = create_user(db, name, role)
            if secret is not None:
                db.flush()
                set_password(db, name, secret)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from exc
    out.print(token)


@user_cli.command("password")
def user_password(name: str) -> None:
    """Set or change a staff user's browser password."""
    from app.auth import set_password
    from app.db import unit_of_work

    secret = _ask_password()
    try:
        with unit_of_work(_engine()) as db:
            set_password(db, name, secret)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from exc
    out.print(f"password set for {name}")


@cli.command("backup")
def backup_cmd(
    path: Annotated[Path, typer.Argument(help="A new folder for the backup.")],
) -> None:
    """Copy the platform's state (database, recordings, data folder) into PATH, consistent
    while the service runs."""
    from app.backup import BackupError, backup

    settings = get_settings()
    try:
        manifest = backup(settings.data_dir, settings.db_url, path)
    except BackupError as exc:
        _fail(str(exc))
    size = sum(f["size"] for f in manifest["files"])
    out.print(f"backed up {len(manifest['files'])} file(s), {_size(size)}, into {path}")


@cli.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="A folder written by `praxis backup`.")],
) -> None:
    """Replace the data folder with the backup in PATH (the service must be stopped); the
    former data folder is kept beside it. On PostgreSQL the database is replaced too, in one
    transaction."""
    from app.backup import BackupError, restore
    from app.backup_postgres import is_postgres
    from app.db import known_revision
    from app.leases import forget_leases
    from app.service_lock import ServiceRunning

    settings = get_settings()
    on_postgres = is_postgres(settings.db_url)
    if not on_postgres and settings.db_url != f"sqlite:///{settings.data_dir / 'praxis.db'}":
        _fail("PRAXIS_DATABASE_URL names another database than the data folder's: restore it")
    try:
        former = restore(
            path, settings.data_dir, known_revision, settings.db_url if on_postgres else None
        )
    except (BackupError, ServiceRunning) as exc:
        _fail(str(exc))
    forget_leases(_engine())  # held by the backed-up platform's processes, not by anyone here
    out.print(f"restored {path} into {settings.data_dir}", soft_wrap=True)
    if former is not None:
        out.print(f"the former data folder is kept in {former}", soft_wrap=True)


@cli.command()
def doctor() -> None:
    """What this host can run: dockerd, images, cache, PDF fonts, libvirtd, KVM, 802.1Q."""
    from app.doctor import diagnose

    findings = diagnose(get_settings())
    for f in findings:
        mark = "[green]ok[/green]  " if f.ok else "[yellow]no[/yellow]  "
        out.print(f"{mark}{f.name:22} {f.detail}" + (f"  → {f.fix}" if not f.ok and f.fix else ""))


def main() -> None:
    cli(prog_name="praxis")
