"""LDAP as the grader sees it: binds, searches and password changes sent from outside the
node, over the lab network, so the directory itself answers (not a tool of the candidate's).

Every operation is recorded as evidence (`via: outside`), passwords hidden; each has a short
timeout and searches a bounded number of entries: a slow or hostile server costs seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from graders.contract import CheckContext

TIMEOUT = 3  # seconds, per connection and answer (ldap3 packs it as an integer)
SIZE_LIMIT = 50  # entries a search may return


@dataclass(frozen=True)
class Answer:
    ok: bool
    result: str  # the server's result name ("success", "invalidCredentials", ...) or the error
    entries: tuple[dict[str, list[str]], ...] = ()


class Directory:
    """One node's LDAP server, from the grader's side."""

    def __init__(self, ctx: CheckContext, node: str, port: int = 389) -> None:
        self.ctx, self.node = ctx, node
        self.server = ldap3.Server(
            ctx.address(node), port, get_info=ldap3.NONE, connect_timeout=TIMEOUT
        )

    def bind(self, dn: str | None, password: str | None) -> ldap3.Connection | None:
        """A connection bound as `dn` (anonymous when None); None if the bind is refused."""
        start = time.monotonic()
        who = dn or "anonymous"
        try:
            conn = ldap3.Connection(
                self.server,
                dn,
                password,
                receive_timeout=TIMEOUT,
                auto_referrals=False,
                return_empty_attributes=False,
                raise_exceptions=False,
            )
            bound = conn.bind()
            result = conn.result.get("description", "") if conn.result else "no answer"
        except LDAPException as exc:
            bound, result = False, f"{type(exc).__name__}: {exc}"
        self._record(f"bind as {who} (password not shown)", bound, result, start)
        return conn if bound else None

    def search(
        self,
        conn: ldap3.Connection,
        base: str,
        attributes: list[str],
        scope: str = ldap3.BASE,
        what: str = "(objectClass=*)",
    ) -> Answer:
        start = time.monotonic()
        try:
            conn.search(base, what, scope, attributes=attributes, size_limit=SIZE_LIMIT)
            entries = tuple(
                {"dn": [e["dn"]], **{k.lower(): _texts(v) for k, v in e["attributes"].items()}}
                for e in conn.response or []
                if e.get("type") == "searchResEntry"
            )
            result = conn.result.get("description", "")
            ok = result == "success"
        except LDAPException as exc:
            entries, result, ok = (), f"{type(exc).__name__}: {exc}", False
        shown = "\n".join(_entry_text(e) for e in entries) or "no entry"
        self._record(f"search {base} {what} {attributes}", ok, f"{result}\n{shown}", start)
        return Answer(ok, result, entries)

    def change_password(self, conn: ldap3.Connection, dn: str, old: str, new: str) -> Answer:
        """The Password Modify operation (RFC 3062), as the user `conn` is bound as."""
        return self._operate(
            conn,
            lambda: conn.extend.standard.modify_password(dn, old, new),
            f"password modify {dn} (passwords not shown)",
        )

    def modify(self, conn: ldap3.Connection, dn: str, changes: dict[str, Any]) -> Answer:
        return self._operate(
            conn, lambda: conn.modify(dn, changes), f"modify {dn} {sorted(changes)}"
        )

    def delete(self, conn: ldap3.Connection, dn: str) -> Answer:
        return self._operate(conn, lambda: conn.delete(dn), f"delete {dn}")

    def _operate(
        self, conn: ldap3.Connection, operation: Callable[[], object], what: str
    ) -> Answer:
        """One write as `conn`'s user, recorded; it holds if the server says `success`."""
        start = time.monotonic()
        try:
            operation()
            result = conn.result.get("description", "")
        except LDAPException as exc:
            result = f"{type(exc).__name__}: {exc}"
        ok = result == "success"
        self._record(what, ok, result, start)
        return Answer(ok, result)

    def _record(self, what: str, ok: bool, output: str, start: float) -> None:
        self.ctx.record(
            self.node, f"LDAP {what} (from the grader)", 0 if ok else 1, output, start, "outside"
        )


def _texts(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _entry_text(entry: dict[str, list[str]]) -> str:
    lines = [f"dn: {entry['dn'][0]}"]
    for name, values in entry.items():
        if name != "dn":
            lines += [f"{name}: {_hidden(name, v)}" for v in values]
    return "\n".join(lines)


def _hidden(name: str, value: str) -> str:
    """A stored password is shown by its scheme only ({SSHA}...), never the value itself."""
    if name != "userpassword":
        return value
    return value[: value.index("}") + 1] + "…" if value.startswith("{") and "}" in value else "…"
