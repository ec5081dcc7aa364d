"""The `praxis` command: serve, build images, check and test scenarios, operate."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from app.catalog import Catalog
from app.cli_scenario import scenario_cli
from app.config import get_settings
from app.models import Role

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Praxis: hands-on IT exams.")
images_cli = typer.Typer(no_args_is_help=True, help="Node images, built locally.")
user_cli = typer.Typer(no_args_is_help=True, help="Staff accounts.")
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


@cli.command()
def reap() -> None:
    """Remove this platform's lab objects (containers, networks, firewall rules) that no live
    session owns, and its scenario trials' labs; another platform's are left alone."""
    from app.backends import lab_driver, trials_of
    from app.controller import Controller
    from app.db import instance_id

    settings, engine = get_settings(), _engine()
    driver = lab_driver(settings, instance_id(engine))
    reaped = Controller(engine, settings, driver, Catalog(settings.scenarios_dir)).reap()
    trials = lab_driver(settings, trials_of(instance_id(engine)))
    for session_id in trials.sessions():  # trial labs kept with --keep: never a live session
        trials.destroy(session_id)
        reaped.add(session_id)
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


@cli.command()
def doctor() -> None:
    """What this host can run: dockerd, images, cache, libvirtd, KVM, 802.1Q."""
    from app.doctor import diagnose

    findings = diagnose(get_settings())
    for f in findings:
        mark = "[green]ok[/green]  " if f.ok else "[yellow]no[/yellow]  "
        out.print(f"{mark}{f.name:22} {f.detail}" + (f"  → {f.fix}" if not f.ok and f.fix else ""))


def main() -> None:
    cli(prog_name="praxis")
