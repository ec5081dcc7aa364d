"""`praxis scenario ...`: what an instructor uses to write, check and test an exam."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.catalog import Catalog, validate
from app.config import ROOT, Settings, get_settings
from graders.report import GradeReport
from labs.scenario import NAME, Scenario

scenario_cli = typer.Typer(no_args_is_help=True, help="Write, check and test scenarios.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
SKELETON = Path(__file__).parent / "skeleton"


def _folder(target: str) -> Path:
    path = Path(target)
    return path if path.is_dir() else get_settings().scenarios_dir / target


@scenario_cli.command("new")
def scenario_new(name: str) -> None:
    """Create scenarios/NAME/: a working skeleton to edit (validates and tests clean as is)."""
    import re

    folder = get_settings().scenarios_dir / name
    if not re.match(NAME, name):
        err.print(f"{name!r}: use lowercase letters, digits and dashes, starting with a letter")
        raise typer.Exit(1)
    if folder.exists():
        err.print(f"{folder} exists already")
        raise typer.Exit(1)
    shutil.copytree(SKELETON, folder)
    for path in folder.rglob("*"):
        if path.is_file():
            path.write_text(
                path.read_text(encoding="utf-8").replace("__NAME__", name), encoding="utf-8"
            )
    out.print(
        f"created {folder}: edit scenario.yaml and instructions.fr.md, then run\n"
        f"  praxis scenario validate {name}\n  praxis scenario test {name}"
    )


@scenario_cli.command("validate")
def scenario_validate(
    targets: Annotated[list[str], typer.Argument(help="Folders or scenario ids.")],
    host: Annotated[
        bool, typer.Option("--host", help="Also check that this host can run them (802.1Q...).")
    ] = False,
) -> None:
    """Report every problem as file:line: message (exit 1 if any)."""
    failed = False
    for target in targets:
        _, problems = validate(_folder(target), host, get_settings().node_capabilities)
        for problem in problems:
            out.print(str(problem), soft_wrap=True, markup=False)
        if not problems:
            out.print(f"{target}: ok")
        failed |= bool(problems)
    raise typer.Exit(1 if failed else 0)


@scenario_cli.command("list")
def scenario_list() -> None:
    """Scenarios under the scenarios folder, with their validation status."""
    settings = get_settings()
    catalog = Catalog(settings.scenarios_dir, settings.node_capabilities)
    for scenario_id in catalog.ids():
        scenario, problems = catalog.check(scenario_id)
        status = (
            f"{len(scenario.criteria)} criteria, {scenario.duration}"
            if scenario
            else f"[red]{len(problems)} problem(s)[/red]"
        )
        out.print(f"{scenario_id:24} {status}")


@scenario_cli.command("schema")
def scenario_schema(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = ROOT
    / "scenario.schema.json",
) -> None:
    """Write the JSON Schema of scenario.yaml, for editors to complete and check it."""
    from app.schema import scenario_schema as build
    from labs.referential import load_referential

    output.write_text(
        json.dumps(build(load_referential().codes()), indent=2, ensure_ascii=False) + "\n"
    )
    out.print(f"wrote {output}")


def _run(target: str, blank: bool, keep: bool) -> GradeReport:
    """Raises typer.Exit(1) with the problems of an invalid scenario; other errors propagate."""
    from app.backends import lab_driver, trials_of
    from app.cli import _engine
    from app.db import instance_id
    from app.scenario_test import test_scenario

    settings = get_settings()
    scenario, problems = validate(_folder(target), capabilities=settings.node_capabilities)
    if scenario is None:
        for problem in problems:
            out.print(str(problem), soft_wrap=True, markup=False)
        raise typer.Exit(1)
    # A trial lab is no session of the service's: labelled apart, the service's reaper leaves it
    # alone; the trial removes it when done (`praxis reap` removes kept ones).
    driver = lab_driver(settings, trials_of(instance_id(_engine())))
    with out.status("working...") as status:

        def say(line: str) -> None:
            out.print(line)
            status.update(line)

        return test_scenario(driver, settings, scenario, blank, say, keep)


def _not_runnable_here(scenario: Scenario, settings: Settings) -> str | None:
    """Why this host cannot run `scenario`'s labs: a VM image it has not and cannot build."""
    from labs import vm_images
    from labs.images import recipes

    buildable = recipes(settings.images_dir)
    for node in scenario.nodes.values():
        if node.kind != "vm" or node.image in buildable:
            continue
        if vm_images.load(settings.vm_dir / "images", node.image) is None:
            return f"needs the imported VM image {node.image}"
    return None


def _stop_on_sigterm() -> None:
    """A `kill` (a CI's time-out, a service manager) ends a trial as Ctrl-C does: the lab is
    destroyed on the way out instead of waiting for `praxis reap`."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def _passed(report: GradeReport, blank: bool) -> bool:
    return report.percent <= 10 if blank else report.percent >= 100


@scenario_cli.command("test")
def scenario_test(
    target: Annotated[str | None, typer.Argument(help="Folder or scenario id.")] = None,
    blank: Annotated[bool, typer.Option(help="Grade an untouched lab (must score ≤ 10%).")] = False,
    keep: Annotated[bool, typer.Option(help="Leave the lab running afterwards.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Every scenario, solved and blank.")] = False,
) -> None:
    """Provision a real lab, apply the reference solution, grade it twice; exit 0 only at
    100 % (or ≤ 10 % with --blank) and when both grades agree."""
    _stop_on_sigterm()
    if all_:
        _test_all()
        return
    if target is None:
        err.print("name a scenario, or use --all")
        raise typer.Exit(2)
    try:
        report = _run(target, blank, keep)
    except typer.Exit:
        raise
    except Exception as exc:
        # One line, never wrapped: a missing VM image says which and how to get it.
        err.print(f"scenario test failed: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    table = Table("criterion", "weight", "score", "status", "message", "ms")
    for c in report.criteria:
        table.add_row(
            c.id, f"{c.weight:g}", f"{c.score:.2f}", c.status, c.message[:80], str(c.duration_ms)
        )
    out.print(table)
    out.print(f"score: {report.percent:.1f}%")
    raise typer.Exit(0 if _passed(report, blank) else 1)


def _test_all() -> None:
    """Each scenario solved and blank; one that needs what this host cannot have (an imported
    VM image: Windows) is said not runnable here, and fails nothing."""
    table = Table("scenario", "solution", "blank", "verdict", "grading (solved)")
    failed = False
    problems: list[str] = []  # in full, below the table
    settings = get_settings()
    catalog = Catalog(settings.scenarios_dir)
    for scenario_id in catalog.ids():
        scenario, _ = catalog.check(scenario_id)
        why = _not_runnable_here(scenario, settings) if scenario else None
        if why:
            table.add_row(scenario_id, "-", "-", f"not runnable here: {why}", "-")
            continue
        cells = []
        ok = True
        graded = "-"
        for blank in (False, True):
            trial = f"{scenario_id}{' --blank' * blank}"
            try:
                report = _run(scenario_id, blank, keep=False)
            except (typer.Exit, Exception) as exc:
                cells.append(f"error: {str(exc)[:60] or 'invalid'}")
                problems.append(f"{trial}: {exc}")
                ok = False
                continue
            cells.append(f"{report.percent:.1f}%")
            if not blank:
                graded = f"{report.duration_ms / 1000:.1f} s"
            if not _passed(report, blank):
                problems.append(f"{trial}: {_why(report, blank)}")
                ok = False
        failed |= not ok
        table.add_row(scenario_id, *cells, "ok" if ok else "[red]FAILED[/red]", graded)
    out.print(table)
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)
    raise typer.Exit(1 if failed else 0)


def _why(report: GradeReport, blank: bool) -> str:
    """The criteria that kept a report from its goal (any points for a blank lab, less than
    all for a solved one), as the jury would read them."""
    off = [c for c in report.criteria if (c.score > 0 if blank else c.score < 1)]
    return "; ".join(f"{c.id} {c.score:g} ({c.status}): {c.message}" for c in off)
