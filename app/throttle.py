"""Sign-in throttling: token buckets per key (a client address, a staff name, an exam code) and
a bound on the argon2 hashes that run at once (each takes 64 MiB and the cores for ~0.2 s)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.errors import TooManyAttempts


class Buckets:
    """`attempts` per key every `window` seconds, in bursts of up to `attempts`; keys seen least
    recently are forgotten past `max_keys`, so a flood of made-up names cannot grow memory."""

    def __init__(
        self,
        attempts: int,
        window: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(attempts)
        self.rate = attempts / window  # tokens per second
        self.max_keys = max_keys
        self.clock = clock
        self._tokens: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if the attempt may go ahead (and it is counted), else the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, at = self._tokens.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._tokens[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._tokens) > self.max_keys:
                self._tokens.popitem(last=False)
            return wait


class SignInGuard:
    """What every sign-in passes first: its address's and its name's (or code's) buckets,
    then, for a password, one of `hashes` slots."""

    def __init__(
        self,
        per_address: int,
        per_name: int,
        hashes: int,
        window: float = 60.0,
        hash_wait: float = 5.0,
    ) -> None:
        self.addresses = Buckets(per_address, window)
        self.names = Buckets(per_name, window)
        self._slots = threading.BoundedSemaphore(hashes)
        self.hash_wait = hash_wait

    def admit(self, address: str, name: str) -> None:
        """Raises TooManyAttempts with the seconds to wait. The address is counted first: a
        flood from one address does not use up the name's attempts for everyone else."""
        wait = self.addresses.take(address) or self.names.take(name)
        if wait:
            raise TooManyAttempts("too many sign-in attempts: wait and try again", wait)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """One of the hash slots, or TooManyAttempts if none frees up in time."""
        if not self._slots.acquire(timeout=self.hash_wait):
            raise TooManyAttempts("too many sign-ins at once: try again", 1.0)
        try:
            yield
        finally:
            self._slots.release()
