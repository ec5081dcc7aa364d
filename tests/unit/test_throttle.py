"""Sign-in throttling: token buckets per key, and the bound on password hashes at once."""

from __future__ import annotations

import threading

import pytest

from app.errors import TooManyAttempts
from app.throttle import Buckets, SignInGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_attempt_per_refill() -> None:
    clock = Clock()
    buckets = Buckets(3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(20)  # 3 a minute: one more in 20 s
    clock.now += 10
    assert buckets.take("a") == pytest.approx(10)  # a refused attempt is not counted
    clock.now += 10
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0


def test_a_longer_window_refills_slower() -> None:
    clock = Clock()
    buckets = Buckets(2, window=3600, clock=clock)
    assert buckets.take("a") == buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(1800)


def test_keys_are_apart() -> None:
    buckets = Buckets(1, clock=Clock())
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0


def test_a_flood_of_names_cannot_grow_memory() -> None:
    buckets = Buckets(1, max_keys=100, clock=Clock())
    for n in range(1000):
        buckets.take(f"name-{n}")
    assert len(buckets._tokens) == 100
    assert buckets.take("name-999") > 0  # the most recent are the ones kept


def test_the_address_is_refused_before_the_name_is_counted() -> None:
    guard = SignInGuard(per_address=2, per_name=3, hashes=1)
    guard.admit("10.0.0.1", "staff:ann")
    guard.admit("10.0.0.1", "staff:ann")
    with pytest.raises(TooManyAttempts) as refused:
        guard.admit("10.0.0.1", "staff:ann")
    assert refused.value.headers() == {"Retry-After": "30"}
    guard.admit("10.0.0.2", "staff:ann")  # ann's third attempt: the flood did not use it
    with pytest.raises(TooManyAttempts):
        guard.admit("10.0.0.3", "staff:ann")  # per name, from any address


def test_hashes_at_once_are_bounded() -> None:
    guard = SignInGuard(per_address=10, per_name=10, hashes=1, hash_wait=0.05)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with guard.hashing():
            held.set()
            release.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    assert held.wait(30)
    with pytest.raises(TooManyAttempts), guard.hashing():
        pass
    release.set()
    worker.join(30)
    with guard.hashing():  # the slot is free again
        pass
