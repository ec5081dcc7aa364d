"""Leases (app.leases): one holder at a time, taken over only once lapsed, on both databases
(`make test` runs this file on PostgreSQL too). Two replicas driving real labs:
tests/integration/test_replicas.py."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from app.db import unit_of_work
from app.leases import Leases, forget_leases
from app.models import Lease, utcnow


@pytest.fixture
def engine(migrated: Engine) -> Engine:
    return migrated


def lapse(engine: Engine, name: str) -> None:
    with unit_of_work(engine) as db:
        db.execute(
            update(Lease)
            .where(Lease.name == name)  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def test_one_holder_until_it_lapses(engine: Engine) -> None:
    a, b = Leases(engine, "a"), Leases(engine, "b")
    assert a.claim("s1") and a.claim("s1")  # again: renewed, still a's
    assert not b.claim("s1")
    assert b.claim("s2")
    assert a.renew({"s1", "s2"}) == {"s1"}  # s2 is b's: not a's to renew
    lapse(engine, "s1")
    assert b.claim("s1")  # lapsed: taken over
    assert a.renew({"s1"}) == set()  # and a knows it lost it
    assert not a.claim("s1")
    a.release("s1")  # not a's: nothing happens
    assert b.held()["s1"][0] == "b"
    b.release("s1")
    assert "s1" not in b.held() and a.claim("s1")


def test_renewal_keeps_a_lease_from_lapsing(engine: Engine) -> None:
    a, b = Leases(engine, "a", term=timedelta(seconds=30)), Leases(engine, "b")
    a.claim("duty")
    lapse(engine, "duty")
    assert a.renew({"duty"}) == {"duty"}  # lapsed but not taken: still a's, extended
    assert not b.claim("duty")


def test_racing_replicas_win_a_lapsed_lease_once(engine: Engine) -> None:
    Leases(engine, "old").claim("s1")
    lapse(engine, "s1")
    for round_ in range(5):
        won = race([Leases(engine, f"r{round_}-{i}") for i in range(6)], "s1")
        assert len(won) == 1, won
        assert Leases(engine, "x").held("s1")["s1"][0] == won[0]
        lapse(engine, "s1")


def test_racing_for_a_new_lease_one_wins(engine: Engine) -> None:
    won = race([Leases(engine, f"r{i}") for i in range(6)], "fresh")
    assert len(won) == 1, won


def race(contenders: list[Leases], name: str) -> list[str]:
    """Every contender claims `name` at the same moment; returns the winners."""
    start = threading.Barrier(len(contenders))
    won: list[str] = []

    def claim(leases: Leases) -> None:
        start.wait()
        if leases.claim(name):
            won.append(leases.holder)

    threads = [threading.Thread(target=claim, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_a_restored_database_holds_no_lease(engine: Engine) -> None:
    Leases(engine, "backed-up").claim("s1")
    forget_leases(engine)
    assert Leases(engine, "here").held() == {}
