"""Checks of the ldap-passwords scenario: each criterion judges its part of the grading's one
exercise of the help desk's script (graders.ldap_exercise), or reads the directory itself."""

from __future__ import annotations

import re
import time

from graders.contract import CheckContext, CheckResult, FileInfo
from graders.directory import Directory
from graders.exercise import criterion, said
from graders.ldap_exercise import MIN_LENGTH, SCRIPT, Account, exercise, strong

JOURNAL = "/var/log/ldap-pass.log"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
SUCCESS = re.compile(r"(?i)\b(success|succès|succes|réussi|reussi|ok)\b")
FAILURE = re.compile(r"(?i)\b(failure|failed|fail|échec|echec|error|erreur)\b")


def tree(ctx: CheckContext, node: str = "ldap") -> CheckResult:
    """The administrator binds with the session's password; the base and both OUs exist."""
    base = ctx.params["base"]
    ldap = Directory(ctx, node)
    admin = ldap.bind(f"cn=admin,{base}", ctx.params["admin_password"])
    if admin is None:
        return CheckResult(0, f"cn=admin,{base} cannot bind with the exam's password")
    missing = [
        dn
        for dn in (base, f"ou=people,{base}", f"ou=groups,{base}")
        if not ldap.search(admin, dn, ["objectClass"]).entries
    ]
    admin.unbind()
    if missing:
        return CheckResult(1 / 3, f"missing: {', '.join(missing)}")
    return CheckResult(1, f"{base} with ou=people and ou=groups; the administrator binds")


created = criterion(exercise, "create", node="ldap")
changed = criterion(exercise, "change", node="ldap")
forgotten = criterion(exercise, "forgot", node="ldap")
policy = criterion(exercise, "policy", node="ldap")
rights = criterion(exercise, "rights", node="ldap")
stored = criterion(exercise, "stored", node="ldap")


def quality(ctx: CheckContext, node: str = "ldap") -> CheckResult:
    """Every password the script printed is strong, and no two are the same."""
    done = exercise(ctx, node)
    for step in ("create", "change", "forgot"):
        ctx.evidence.extend(done.steps.evidence.get(step, []))
    printed = [p for a in done.accounts for p in a.printed]
    if not printed:
        return CheckResult(0, "no password was printed")
    weak = [p for p in printed if not strong(p)]
    repeated = len(printed) - len(set(printed))
    problems = [f"{len(weak)} of {len(printed)} too weak ({_masked(weak[0])})"] if weak else []
    problems += [f"{repeated} printed twice"] if repeated else []
    if problems:
        return CheckResult(0, "; ".join(problems))
    return CheckResult(
        1,
        f"{len(printed)} passwords, each of {MIN_LENGTH}+ characters with "
        "the four classes, all different",
    )


def records(ctx: CheckContext, node: str = "ldap") -> CheckResult:
    """The tool and its journal are root's only; the journal tells every action, never a
    password."""
    done = exercise(ctx, node)
    if not any(a.printed for a in done.accounts):
        return CheckResult(0, "not exercised: the script could not create an account")
    script, journal = _read(ctx, node, SCRIPT), _read(ctx, node, JOURNAL)
    text = (journal.content or b"").decode("utf-8", "replace") if journal else ""
    seen = [p for a in done.accounts for p in (*a.printed, *a.ours) if p in text]
    untold = _untold(text.splitlines(), done.accounts)
    found = [
        said(
            _private(script, 0o027),
            f"{SCRIPT} is root's only",
            f"{SCRIPT} is missing, not root's or open to others",
        ),
        said(
            _private(journal, 0o037),
            f"{JOURNAL} is root's only",
            f"{JOURNAL} is missing, not root's or readable by others",
        ),
        said(
            not seen, "the journal holds no password", f"the journal holds {len(seen)} password(s)"
        ),
        said(
            not untold,
            "the journal tells every action, dated, with its result",
            f"the journal does not tell {', '.join(untold)}",
        ),
    ]
    failed = [t for ok, t in found if not ok]
    score = sum(ok for ok, _ in found) / len(found)
    return CheckResult(score, "; ".join(failed or [t for _, t in found]))


def _untold(lines: list[str], accounts: list[Account]) -> list[str]:
    """The exercise's actions with no journal line of their own: date, action, UID, result."""
    first, second, third = accounts
    wanted = [("create", a.uid, SUCCESS) for a in accounts]
    wanted += [("create", first.uid, FAILURE), ("change", first.uid, SUCCESS)]
    wanted += [("change", second.uid, FAILURE), ("forgot", third.uid, SUCCESS)]
    return [
        f"{what} {uid} ({'success' if result is SUCCESS else 'failure'})"
        for what, uid, result in wanted
        if not any(
            what in line
            and re.search(rf"\b{uid}\b", line)
            and ISO_DATE.search(line)
            and result.search(line)
            for line in lines
        )
    ]


def _read(ctx: CheckContext, node: str, path: str) -> FileInfo | None:
    start = time.monotonic()
    info = ctx.view(node).read(path, 1 << 20)
    shown = f"mode {info.mode:o}, uid {info.uid}" if info else "absent"
    ctx.record(node, f"read {path} (from the host)", 0 if info else 1, shown, start, "host")
    return info


def _private(info: FileInfo | None, others: int) -> bool:
    """Root's file, with none of the `others` permission bits."""
    return info is not None and info.uid == 0 and not info.mode & others


def _masked(password: str) -> str:
    return f"{len(password)} characters"
