"""`praxis hosts`: the lab hosts labs are placed on (app.hosts, app.fleet)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.config import get_settings
from app.errors import PraxisError
from labs.scenario import parse_memory

hosts_cli = typer.Typer(
    help="Lab hosts: this machine's engines, and further Docker Engines labs are placed on.",
    invoke_without_command=True,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@hosts_cli.callback()
def hosts_list(context: typer.Context) -> None:
    """List the lab hosts: their engine, whether it answers, capacity and live labs."""
    if context.invoked_subcommand is not None:
        return
    from app.cli import _engine
    from app.hosts import listing

    table = Table("host", "engine", "health", "memory", "live labs", box=None)
    for host in listing(_engine(), get_settings()):
        health = "up" if host.up else "[red]down[/red]"
        table.add_row(host.name, host.docker_url, health, _gib(host.memory_bytes), str(host.labs))
    out.print(table)


@hosts_cli.command("add")
def hosts_add(
    name: str,
    docker: Annotated[str, typer.Option(help="The engine's socket: unix:///run/.../docker.sock")],
    pool: Annotated[str, typer.Option(help="Its labs' addresses, its own (e.g. 10.214.0.0/16)")],
    memory: Annotated[
        str, typer.Option(help="Caps its labs may sum to (e.g. 16g); default its memory")
    ] = "",
) -> None:
    """Enrol an engine: checked, given the node images it lacks, then used for new labs."""
    from app.cli import _engine
    from app.hosts import add

    try:
        capacity = parse_memory(memory) if memory else 0
        host = add(_engine(), get_settings(), name, docker, pool, capacity)
    except (PraxisError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(
        f"enrolled {host.name}: {host.docker_url}, {_gib(host.memory_bytes)}, {host.lab_pool}"
    )


@hosts_cli.command("sync")
def hosts_sync() -> None:
    """Copy the node images rebuilt here (`praxis images build`) to every enrolled host."""
    from app.cli import _engine
    from app.hosts import sync

    for name, copied in sync(_engine(), get_settings()).items():
        said = copied if isinstance(copied, str) else ", ".join(copied) or "up to date"
        out.print(f"{name}: {said}", markup=False)


@hosts_cli.command("remove")
def hosts_remove(name: str) -> None:
    """Forget a host that holds no live lab (its labs are no longer placed there)."""
    from app.cli import _engine
    from app.hosts import remove

    try:
        remove(_engine(), name)
    except PraxisError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"removed {name}")


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"
