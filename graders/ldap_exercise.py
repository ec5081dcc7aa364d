"""The ldap-passwords scenario's exercise: the help desk's script used as the help desk
would use it, what it did observed by the directory itself, over LDAP from the grader.

The script is run once per grading (`exercise`): three new accounts, a change by the user, a
wrong current password, a forgotten password; each criterion then judges its part of that one
run, with the steps it rests on as evidence. The accounts have fresh random names each grading
and are deleted at its end, so grading again gives the same verdicts on the same lab.
"""

from __future__ import annotations

import secrets
import shlex
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import ldap3

from graders.contract import CheckContext, CheckResult
from graders.directory import Directory
from graders.exercise import Finding, Steps, once, said

SCRIPT = "/usr/local/sbin/ldap-pass"
MIN_LENGTH = 14
HASHED = ("{SSHA", "{SMD5", "{CRYPT}", "{ARGON2}", "{PBKDF2", "{SHA256}", "{SHA512}", "{SHA}")


@dataclass
class Account:
    uid: str
    dn: str
    password: str = ""  # the latest the script printed
    printed: list[str] = field(default_factory=list)  # every password it printed, in order
    ours: list[str] = field(default_factory=list)  # the grader's own, set as the user


@dataclass
class Exercise:
    """What the script did in this grading: the test accounts and the steps."""

    accounts: list[Account]
    steps: Steps = field(default_factory=Steps)

    def judge(self, ctx: CheckContext, *names: str) -> CheckResult:
        unexercised = "not exercised: the script could not create an account"
        return self.steps.judge(ctx, *names, unexercised=unexercised)


def exercise(ctx: CheckContext, node: str) -> Exercise:
    """The script's run of this grading (graders.exercise.once)."""
    return once(ctx, node, "ldap-pass", lambda: _Run(ctx, node).all())


class _Run:
    def __init__(self, ctx: CheckContext, node: str) -> None:
        self.ctx, self.node = ctx, node
        self.base = ctx.params["base"]
        self.admin_dn, self.admin_pw = f"cn=admin,{self.base}", ctx.params["admin_password"]
        tag = secrets.token_hex(3)
        self.done = Exercise(
            [Account(f"px{tag}{i}", f"uid=px{tag}{i},ou=people,{self.base}") for i in range(3)]
        )

    def step(self, name: str, work: Callable[[Directory], list[Finding]]) -> None:
        self.done.steps.run(self.ctx, name, lambda own: work(Directory(own, self.node)))

    def all(self) -> Exercise:
        try:
            self.step("create", self.create)
            if all(a.password for a in self.done.accounts):
                for name, work in (("change", self.change), ("forgot", self.forgot),
                                   ("policy", self.policy), ("rights", self.rights),
                                   ("stored", self.stored)):  # fmt: skip
                    self.step(name, work)
        finally:  # the test accounts go, whatever happened
            self.step("cleanup", self.cleanup)
        return self.done

    def script(self, ldap: Directory, args: str, stdin: str | None = None) -> tuple[int, str]:
        """Run the help desk's command; its exit status and the last line it printed."""
        command = f"{SCRIPT} {args}"
        shown = command
        if stdin is not None:
            command = f"printf '%s\\n' {shlex.quote(stdin)} | {command}"
            shown = f"printf '%s\\n' '(the current password)' | {SCRIPT} {args}"
        result = ldap.ctx.run(self.node, command, shown=shown)
        lines = result.stdout.strip().splitlines()
        return result.status, lines[-1].strip() if lines else ""

    def works(self, ldap: Directory, account: Account, password: str) -> bool:
        conn = ldap.bind(account.dn, password)
        if conn is not None:
            conn.unbind()
        return conn is not None

    def admin(self, ldap: Directory) -> ldap3.Connection | None:
        return ldap.bind(self.admin_dn, self.admin_pw)

    def create(self, ldap: Directory) -> list[Finding]:
        found = []
        for account in self.done.accounts:
            status, last = self.script(ldap, f"create {account.uid} Praxis Essai")
            if status != 0 or not last:
                found.append((False, f"create {account.uid}: exit status {status}"))
                continue
            account.password = last
            account.printed.append(last)
            ok = self.works(ldap, account, last)
            found.append(
                (
                    ok,
                    f"create {account.uid}: the printed password "
                    + ("opens the account" if ok else "does not open the account"),
                )
            )
        first = self.done.accounts[0]
        status, _ = self.script(ldap, f"create {first.uid} Autre Personne")
        kept = bool(first.password) and self.works(ldap, first, first.password)
        found.append(
            (
                status != 0 and kept,
                f"create of an existing uid: exit status {status}"
                + ("" if kept else ", the account's password changed"),
            )
        )
        found.append(self.entry(ldap, first))
        return found

    def entry(self, ldap: Directory, account: Account) -> Finding:
        conn = self.admin(ldap)
        if conn is None:
            return False, f"{account.uid}: the administrator's bind is refused"
        wanted = ["objectClass", "uid", "cn", "sn", "givenName"]
        answer = ldap.search(conn, account.dn, wanted)
        conn.unbind()
        if not answer.entries:
            return False, f"{account.dn} not found ({answer.result})"
        entry = answer.entries[0]
        expected = {"uid": account.uid, "cn": "Praxis Essai", "sn": "Essai", "givenname": "Praxis"}
        wrong = [k for k, v in expected.items() if v not in entry.get(k, [])]
        classes = {c.lower() for c in entry.get("objectclass", [])}
        if "inetorgperson" not in classes:
            wrong.append("objectClass inetOrgPerson")
        return not wrong, f"{account.uid}: " + (
            f"wrong or missing {', '.join(wrong)}"
            if wrong
            else "an inetOrgPerson with uid, cn, sn, givenName"
        )

    def change(self, ldap: Directory) -> list[Finding]:
        account, other = self.done.accounts[0], self.done.accounts[1]
        old = account.password
        status, new = self.script(ldap, f"change {account.uid}", stdin=old)
        found = [
            said(
                status == 0 and bool(new) and new != old,
                f"change {account.uid}: a new password printed",
                f"change {account.uid}: exit status {status}, no new password",
            )
        ]
        if found[0][0]:
            account.password = new
            account.printed.append(new)
            found += self.swapped(ldap, account, old, new)
        status, _ = self.script(ldap, f"change {other.uid}", stdin="Wrong-current-passw0rd")
        kept = self.works(ldap, other, other.password)
        found.append(
            said(
                status != 0 and kept,
                "a wrong current password is refused",
                f"a wrong current password: exit status {status}"
                + ("" if kept else ", and the password changed"),
            )
        )
        return found

    def swapped(self, ldap: Directory, account: Account, old: str, new: str) -> list[Finding]:
        return [
            said(
                self.works(ldap, account, new),
                "the new password opens the account",
                "the new password does not open the account",
            ),
            said(
                not self.works(ldap, account, old),
                "the old password is refused",
                "the old password still opens the account",
            ),
        ]

    def forgot(self, ldap: Directory) -> list[Finding]:
        account = self.done.accounts[2]
        old = account.password
        status, new = self.script(ldap, f"forgot {account.uid}")
        if status != 0 or not new or new == old:
            return [(False, f"forgot {account.uid}: exit status {status}, no new password")]
        account.password = new
        account.printed.append(new)
        return [
            (True, f"forgot {account.uid}: a new password printed"),
            *self.swapped(ldap, account, old, new),
        ]

    def policy(self, ldap: Directory) -> list[Finding]:
        """As the user: a short password and a previous one refused, a good one accepted."""
        account = self.done.accounts[1]
        conn = ldap.bind(account.dn, account.password)
        if conn is None:
            return [(False, f"{account.uid} cannot bind with the password the script printed")]
        short = ldap.change_password(conn, account.dn, account.password, "Ab1!short")
        fresh = _fresh_password()
        good = ldap.change_password(conn, account.dn, account.password, fresh)
        found = [
            said(
                not short.ok,
                f"a 9-character password is refused ({short.result})",
                "a 9-character password is accepted",
            ),
            said(
                good.ok,
                "the user may change his own password",
                f"the user cannot change his own password ({good.result})",
            ),
        ]
        if good.ok:
            reuse = ldap.change_password(conn, account.dn, fresh, account.password)
            found.append(
                said(
                    not reuse.ok,
                    f"a previous password is refused ({reuse.result})",
                    "a previous password is accepted again",
                )
            )
            account.password = fresh if not reuse.ok else account.password
            account.ours.append(fresh)
        conn.unbind()
        return found

    def rights(self, ldap: Directory) -> list[Finding]:
        people = f"ou=people,{self.base}"
        anonymous = ldap.bind(None, None)
        seen = ldap.search(anonymous, people, ["cn"], "SUBTREE") if anonymous else None
        found = [
            said(
                seen is None or not seen.entries,
                f"anonymous clients read nothing under {people}",
                f"anonymous clients read {len(seen.entries) if seen else 0} entries under {people}",
            )
        ]
        one, two = self.done.accounts[0], self.done.accounts[1]
        conn = ldap.bind(one.dn, one.password)
        if conn is None:
            return [*found, (False, f"{one.uid} cannot bind with its password")]
        other = ldap.search(conn, two.dn, ["cn", "userPassword"])
        entry = other.entries[0] if other.entries else {}
        written = ldap.modify(conn, two.dn, {"description": [("MODIFY_REPLACE", ["x"])]})
        conn.unbind()
        return [
            *found,
            said("cn" in entry, "a user reads another's cn", "a user cannot read another's cn"),
            said(
                "userpassword" not in entry,
                "a user cannot read another's password",
                "a user reads another's userPassword",
            ),
            said(
                not written.ok,
                f"a user cannot modify another's entry ({written.result})",
                "a user modifies another's entry",
            ),
        ]

    def stored(self, ldap: Directory) -> list[Finding]:
        """Hashed however written: a clear value the user writes himself is hashed too."""
        account = self.done.accounts[2]
        clear = _fresh_password()
        conn = ldap.bind(account.dn, account.password)
        if conn is not None:
            if ldap.modify(conn, account.dn, {"userPassword": [("MODIFY_REPLACE", [clear])]}).ok:
                account.password = clear
                account.ours.append(clear)
            conn.unbind()
        admin = self.admin(ldap)
        if admin is None:
            return [(False, "the administrator's bind is refused")]
        found = []
        for one in self.done.accounts:
            values = ldap.search(admin, one.dn, ["userPassword"]).entries
            stored = values[0].get("userpassword", []) if values else []
            clear_ones = [v for v in stored if not v.upper().startswith(HASHED)]
            found.append(
                said(
                    bool(stored) and not clear_ones,
                    f"{one.uid}: stored as {', '.join(_scheme(v) for v in stored)}",
                    f"{one.uid}: "
                    + ("no password stored" if not stored else "a password stored in clear"),
                )
            )
        admin.unbind()
        return found

    def cleanup(self, ldap: Directory) -> list[Finding]:
        admin = self.admin(ldap)
        if admin is not None:
            for account in self.done.accounts:
                ldap.delete(admin, account.dn)
            admin.unbind()
        return []


def _scheme(value: str) -> str:
    return value[: value.index("}") + 1] if value.startswith("{") and "}" in value else "?"


def _fresh_password() -> str:
    """A password any sensible policy accepts, new each time."""
    return "Px-" + secrets.token_urlsafe(12) + "9a!"


def strong(password: str) -> bool:
    """At least MIN_LENGTH printable ASCII characters, no space, with the four classes the
    subject asks for."""
    classes = (str.islower, str.isupper, str.isdigit, _special)
    printable = all(c.isascii() and c.isprintable() and c != " " for c in password)
    return (
        len(password) >= MIN_LENGTH
        and printable
        and all(any(f(c) for c in password) for f in classes)
    )


def _special(char: str) -> bool:
    return char in string.punctuation
