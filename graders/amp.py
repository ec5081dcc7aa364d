"""Checks of the amp-stack scenario that a declarative check cannot express."""

from __future__ import annotations

from graders.contract import CheckContext, CheckResult
from graders.host import served_by
from graders.patterns import compile_pattern
from graders.sql import run_sql

SOCKET = "/run/mysqld/mysqld.sock"
REQUIRED = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
_GRANT = compile_pattern(
    r"^GRANT (?P<privs>.+?) ON (?:(?:PROCEDURE|FUNCTION|PACKAGE(?: BODY)?) )?"
    r"(?P<obj>\S+) TO \S+(?P<rest>.*)$"
)
_COLUMNS = compile_pattern(r"\s*\([^)]*\)")  # column-level grants: SELECT (a, b)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _database_of(obj: str) -> str:
    """`colibri`.* -> colibri, *.* -> * (backticks and LIKE escapes removed)."""
    return obj.split(".", 1)[0].strip("`").replace("\\_", "_").replace("\\%", "%")


def _parse_grants(lines: list[str], database: str) -> tuple[set[str], list[str], list[str]]:
    """Return (required rights held on `database`, more rights on it, rights elsewhere)."""
    held: set[str] = set()
    broader: list[str] = []
    elsewhere: list[str] = []  # global, another database, a role, or the right to grant
    for line in (raw.strip()[:4096] for raw in lines):
        m = _GRANT.match(line)
        if m is None:
            if line.startswith("GRANT"):
                elsewhere.append(line)  # a role
            continue
        privs = {p.strip().upper() for p in _COLUMNS.sub("", m["privs"]).split(",")}
        if "ALL PRIVILEGES" in privs:
            privs |= REQUIRED
        privs.discard("USAGE")
        obj, db = m["obj"].replace("`", ""), _database_of(m["obj"])
        if "WITH GRANT OPTION" in m["rest"].upper():
            elsewhere.append(f"GRANT OPTION on {obj}")
        if db in (database, "*"):
            held |= privs & REQUIRED
        extra = privs - REQUIRED if db == database else privs
        if extra:
            where = broader if db == database else elsewhere
            where.append(f"{', '.join(sorted(extra))} on {obj}")
    return held, broader, elsewhere


def db_grants(
    ctx: CheckContext,
    user: str = "",
    database: str = "",
    host: str = "localhost",
    node: str = "web",
) -> CheckResult:
    """Full credit when `user`@`host` holds exactly SELECT, INSERT, UPDATE, DELETE on `database`.*.

    Score = share of the four required rights held, halved if the account holds more
    on that database, quartered if it holds rights elsewhere (global, another database,
    a role) or GRANT OPTION. Parameters default to the session's db_user and db_name.
    """
    user = user or ctx.params.get("db_user", "")
    database = database or ctx.params.get("db_name", "")
    account = f"{user}@{host}"
    problem = served_by(ctx, node, SOCKET, "/usr/sbin/mariadbd")
    if problem:
        return CheckResult(0.0, problem)
    query = f"SHOW GRANTS FOR {_sql_literal(user)}@{_sql_literal(host)}"
    res = run_sql(ctx, node, query, SOCKET)
    if res.status != 0:
        return CheckResult(0.0, f"account {account} not found: {res.stderr.strip()[:200]}")

    held, broader, elsewhere = _parse_grants(res.stdout.splitlines(), database)
    score = len(held) / len(REQUIRED)
    notes = []
    if missing := REQUIRED - held:
        notes.append(f"missing on {database}.*: {', '.join(sorted(missing))}")
    if broader or elsewhere:
        score *= 0.25 if elsewhere else 0.5
        notes.append(f"more than needed: {'; '.join(broader + elsewhere)}")
    if not notes:
        return CheckResult(1.0, f"{account}: SELECT, INSERT, UPDATE, DELETE on {database}.* only")
    return CheckResult(score, f"{account}: " + "; ".join(notes))
