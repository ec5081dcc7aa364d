"""Leases in the database: which service replica drives a piece of work (a session, the
singleton duties), held while renewed, taken over by another replica once it lapses.

A claim is one guarded statement, so two replicas racing for a lapsed lease cannot both win:
an insert if no row exists (the primary key refuses the second), else an update guarded on
"mine, or lapsed". Clocks: each replica's own (UTC); keep them in step (NTP), as the exam's
deadlines already need.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import Lease, utcnow

TERM = timedelta(seconds=15)  # a replica silent this long loses what it held


class Leases:
    def __init__(self, engine: Engine, holder: str, term: timedelta = TERM) -> None:
        self.engine, self.holder, self.term = engine, holder, term

    def claim(self, name: str) -> bool:
        """Take `name` if free, lapsed or already ours (renewing it); False if another
        replica holds it."""
        now = utcnow()
        row = {"name": name, "holder": self.holder, "expires_at": now + self.term}
        try:
            with unit_of_work(self.engine) as db:
                db.execute(insert(Lease).values(**row))
            return True
        except IntegrityError:  # a row exists: take it only if it is ours or lapsed
            pass
        with unit_of_work(self.engine) as db:
            taken = db.execute(
                update(Lease)
                .where(col(Lease.name) == name)
                .where((col(Lease.holder) == self.holder) | (col(Lease.expires_at) < now))
                .values(holder=self.holder, expires_at=now + self.term)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    def renew(self, names: Collection[str]) -> set[str]:
        """Extend those of `names` still ours; returns them (a name missing was lost)."""
        if not names:
            return set()
        now = utcnow()
        with unit_of_work(self.engine) as db:
            mine = col(Lease.holder) == self.holder
            wanted = col(Lease.name).in_(list(names))
            db.execute(update(Lease).where(mine, wanted).values(expires_at=now + self.term))
            return set(db.exec(select(Lease.name).where(mine, wanted)))

    def release(self, name: str) -> None:
        with unit_of_work(self.engine) as db:
            db.execute(
                delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == self.holder)
            )

    def held(self, prefix: str = "") -> dict[str, tuple[str, datetime]]:
        """Name -> (holder, expiry) of the leases whose name starts with `prefix`."""
        with unit_of_work(self.engine) as db:
            rows = db.exec(select(Lease).where(col(Lease.name).startswith(prefix)))
            return {r.name: (r.holder, r.expires_at) for r in rows}


def forget_leases(engine: Engine) -> None:
    """Drop every lease: for a restored database, whose holders are another platform's."""
    with unit_of_work(engine) as db:
        db.execute(delete(Lease))
