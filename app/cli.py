"""The `praxis` command: serve, build images, check and test scenarios, operate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.catalog import Catalog, validate
from app.config import get_settings
from app.models import Role

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Praxis: hands-on IT exams.")
images_cli = typer.Typer(no_args_is_help=True, help="Node images, built locally.")
scenario_cli = typer.Typer(no_args_is_help=True, help="Write, check and test scenarios.")
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
    import docker

    from labs.images import ImageBuildError, build, recipes

    settings = get_settings()
    client = (
        docker.DockerClient(base_url=settings.docker_url)
        if settings.docker_url
        else docker.from_env()
    )
    available = recipes(settings.images_dir)
    for name in names or list(available):
        if name not in available:
            err.print(f"no recipe images/{name}/image.yaml; known: {', '.join(available)}")
            raise typer.Exit(1)
        try:
            build(client, available[name], out.print, force)
        except ImageBuildError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc


def _folder(target: str) -> Path:
    path = Path(target)
    return path if path.is_dir() else get_settings().scenarios_dir / target


@scenario_cli.command("validate")
def scenario_validate(
    targets: Annotated[list[str], typer.Argument(help="Folders or scenario ids.")],
) -> None:
    """Report every problem as file:line: message (exit 1 if any)."""
    failed = False
    for target in targets:
        _, problems = validate(_folder(target))
        for problem in problems:
            out.print(str(problem), soft_wrap=True)
        if not problems:
            out.print(f"{target}: ok")
        failed |= bool(problems)
    raise typer.Exit(1 if failed else 0)


@scenario_cli.command("list")
def scenario_list() -> None:
    """Scenarios under the scenarios folder, with their validation status."""
    catalog = Catalog(get_settings().scenarios_dir)
    for scenario_id in catalog.ids():
        scenario, problems = validate(catalog.root / scenario_id)
        status = (
            f"{len(scenario.criteria)} criteria, {scenario.duration}"
            if scenario
            else f"[red]{len(problems)} problem(s)[/red]"
        )
        out.print(f"{scenario_id:24} {status}")


@scenario_cli.command("test")
def scenario_test(
    target: str,
    blank: bool = typer.Option(False, help="Grade an untouched lab (must score ≤ 10%)."),
    keep: bool = typer.Option(False, help="Leave the lab running afterwards."),
) -> None:
    """Provision a real lab, apply the reference solution, grade; exit 0 only at 100 %."""
    from app.scenario_test import test_scenario
    from labs.docker_driver import DockerDriver

    settings = get_settings()
    scenario, problems = validate(_folder(target))
    if scenario is None:
        for problem in problems:
            out.print(str(problem), soft_wrap=True)
        raise typer.Exit(1)
    driver = DockerDriver(settings.docker_url, settings.lab_pool, settings.cache_port)
    try:
        with out.status("working...") as status:

            def say(line: str) -> None:
                out.print(line)
                status.update(line)

            report = test_scenario(driver, scenario, blank, say, keep, settings.ready_timeout)
    except Exception as exc:
        err.print(f"[red]scenario test failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    table = Table("criterion", "weight", "score", "status", "message", "ms")
    for c in report.criteria:
        table.add_row(
            c.id, f"{c.weight:g}", f"{c.score:.2f}", c.status, c.message[:80], str(c.duration_ms)
        )
    out.print(table)
    out.print(f"score: {report.percent:.1f}%")
    passed = report.percent <= 10 if blank else report.percent >= 100
    raise typer.Exit(0 if passed else 1)


@cli.command()
def reap() -> None:
    """Remove lab objects (containers, networks, firewall rules) that no live session owns."""
    from app.controller import Controller
    from app.db import make_engine, migrate
    from labs.docker_driver import DockerDriver

    settings = get_settings()
    engine = make_engine(settings.db_url)
    migrate(engine)
    driver = DockerDriver(settings.docker_url, settings.lab_pool, settings.cache_port)
    reaped = Controller(engine, settings, driver, Catalog(settings.scenarios_dir)).reap()
    out.print(f"reaped {len(reaped)} lab(s){': ' + ', '.join(sorted(reaped)) if reaped else ''}")


@user_cli.command("create")
def user_create(
    name: str,
    role: Annotated[Role, typer.Option(help="admin, examiner or instructor")] = Role.examiner,
) -> None:
    """Create a staff user and print their API token (shown once)."""
    from app.auth import create_user
    from app.db import make_engine, migrate, unit_of_work

    engine = make_engine(get_settings().db_url)
    migrate(engine)
    try:
        with unit_of_work(engine) as db:
            token = create_user(db, name, role)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from exc
    out.print(token)


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
