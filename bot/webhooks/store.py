"""What webhook handling needs from a store, and an in-memory one.

Two small interfaces, so a shared store (SQLite or Redis) can stand in without touching the
handling: `Claims` says "first time" exactly once per key (deliveries are deduplicated with
it), `Messages` remembers which Slack message belongs to a call (so a repeated event of the
same call updates that message instead of posting again). `MemoryStore` implements both for
one process; entries expire after their TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Claims(Protocol):
    def claim(self, key: str, ttl_s: float) -> bool:
        """True the first time `key` is claimed within `ttl_s` (atomic across callers)."""
        ...

    def release(self, key: str) -> None:
        """Forget a claim whose work was refused, so the provider's retry is accepted."""
        ...


class Messages(Protocol):
    def get(self, key: str) -> str | None:
        """The Slack message ts posted for call `key`, if any."""
        ...

    def set(self, key: str, value: str, ttl_s: float) -> None: ...


class SharedStore:
    """Claims and Messages on the bot's own store (`bot.store`: SQLite, or Redis shared by
    replicas), so a delivery is handled once across restarts and replicas, and a repeated event
    finds the message another replica posted."""

    def __init__(self, store):
        self._store = store

    def claim(self, key: str, ttl_s: float) -> bool:
        return self._store.claim("webhook-claim:" + key, ttl_s)

    def release(self, key: str) -> None:
        self._store.release("webhook-claim:" + key)

    def get(self, key: str) -> str | None:
        value = self._store.get("webhook-message:" + key)
        return value.decode() if value is not None else None

    def set(self, key: str, value: str, ttl_s: float) -> None:
        self._store.set("webhook-message:" + key, value.encode(), ttl_s)


class MemoryStore:
    """Claims and Messages in this process's memory (lost on restart; one replica only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 20000):
        self._clock = clock
        self._max = max_entries
        self._claims: dict[str, float] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        if len(self._claims) > self._max:
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        if len(self._values) > self._max:
            self._values = {k: v for k, v in self._values.items() if v[1] > now}

    def claim(self, key: str, ttl_s: float) -> bool:
        now = self._clock()
        with self._lock:
            self._prune(now)
            until = self._claims.get(key)
            if until is not None and until > now:
                return False
            self._claims[key] = now + ttl_s
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._claims.pop(key, None)

    def get(self, key: str) -> str | None:
        with self._lock:
            hit = self._values.get(key)
            if hit is None or hit[1] <= self._clock():
                return None
            return hit[0]

    def set(self, key: str, value: str, ttl_s: float) -> None:
        now = self._clock()
        with self._lock:
            self._prune(now)
            self._values[key] = (value, now + ttl_s)
