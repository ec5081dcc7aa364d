"""Runs acceptance programs against a `prets` module and says what each call did.

Standalone (the standard library only): it runs in the grading sandbox against the candidate's
module, one child process per program (a hang or a crash costs that program alone), and on
the grader's side against the reference, in process. It only observes: what is right is
decided by the grader, by comparing with the reference's observations, which never enter the
sandbox.

A program is a list of steps: ["new", kwargs] builds a Bibliotheque; ["call", method, *args]
calls it; ["fn", function, *args] calls a module function. Usage in the sandbox:
`python3 harness.py PROGRAMS.json [SECONDS]` prints one JSON line per program, in SECONDS
(TOTAL_SECONDS) at most.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

PROGRAM_SECONDS = 5
TOTAL_SECONDS = 30  # for all programs: a module that hangs cannot hold the grading longer


def kind(value: Any) -> list[Any]:
    """[kind, value]: what a call returned, as the subject's types (a bool is not a number)."""
    if value is None:
        return ["none", None]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, (int, float)):
        return ["number", round(float(value), 2)]
    if isinstance(value, str):
        return ["str", value[:200]]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ["list", [v[:200] for v in value[:100]]]
    return ["other", type(value).__name__]


def raised(module: ModuleType, exc: BaseException) -> list[Any]:
    classes = {"PretRefuse": getattr(module, "PretRefuse", None), "KeyError": KeyError}
    for name, cls in {**classes, "ValueError": ValueError}.items():  # the most specific first
        if isinstance(cls, type) and isinstance(exc, cls):
            return ["raised", name]
    return ["raised", "other:" + type(exc).__name__]


def observe(module: ModuleType, program: list[list[Any]]) -> list[list[Any]]:
    """What each step of `program` did with `module`."""
    seen: list[list[Any]] = []
    library: Any = None
    for step in program:
        try:
            if step[0] == "new":
                library = module.Bibliotheque(**step[1])
                seen.append(["none", None])
            elif step[0] == "call":
                seen.append(kind(getattr(library, step[1])(*step[2:])))
            else:
                seen.append(kind(getattr(module, step[1])(*step[2:])))
        except Exception as exc:
            seen.append(raised(module, exc))
    return seen


def _child(program: str) -> None:
    import prets  # the module under test: the candidate's, in the sandbox

    print(json.dumps(observe(prets, json.loads(program))))


def main(path: str, budget: float = TOTAL_SECONDS) -> None:
    with open(path, encoding="utf-8") as handle:
        programs: dict[str, Any] = json.load(handle)
    deadline = time.monotonic() + budget
    for name, program in programs.items():
        left = deadline - time.monotonic()
        if left <= 0:
            print(json.dumps({"case": name, "error": [f"not run: {budget:g}s spent"]}))
            continue
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child"],
                input=json.dumps(program),
                capture_output=True,
                text=True,
                timeout=min(PROGRAM_SECONDS, left),
                check=False,
            )
            lines = done.stdout.strip().splitlines()
            outcome: Any = json.loads(lines[-1]) if lines else None
            line = {"case": name, "steps": outcome} if done.returncode == 0 else None
            if line is None:
                line = {"case": name, "error": done.stderr.strip().splitlines()[-1:] or ["died"]}
        except subprocess.TimeoutExpired:
            line = {"case": name, "error": [f"no answer in {PROGRAM_SECONDS}s"]}
        except ValueError:
            line = {"case": name, "error": ["unreadable output"]}
        print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        _child(sys.stdin.read())
    else:
        main(sys.argv[1], *map(float, sys.argv[2:3]))
