"""What the listeners share for the life of one app: settings, the job runner and the caches.

Caches are in memory and best effort: after a restart, thread context comes back from the
parent message's metadata and results from the provider.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import TTLCache

from bot import lookup as lookups
from bot.config import Settings
from bot.jobs import JobRunner
from providers.base import Lookup

SEEN_TTL_S = 3600.0  # Slack retries an event for about 5 minutes; keep ids well past that
THREAD_TTL_S = 3600.0


def request_id() -> str:
    return "cq-" + uuid.uuid4().hex[:10]


class LockedTTL:
    """A TTLCache behind a lock (cachetools caches are not thread-safe)."""

    def __init__(self, maxsize: int, ttl: float):
        self._cache: TTLCache[Any, Any] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._cache.get(key)

    def set(self, key: Any, value: Any) -> None:
        with self._lock:
            self._cache[key] = value

    def pop(self, key: Any) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def add_if_absent(self, key: Any) -> bool:
        """True the first time `key` is seen within the TTL."""
        with self._lock:
            if key in self._cache:
                return False
            self._cache[key] = True
            return True


@dataclass(frozen=True)
class ThreadContext:
    """Which lookup a bot thread is about, read back from the parent's metadata."""

    channel: str
    thread_ts: str
    provider: str
    args: tuple[str, ...]
    window: str | None
    request_id: str | None
    card_ts: str | None = None  # the message carrying the metadata (the card)
    grade: str | None = None  # the grade the card shows
    asked_by: str | None = None  # the Slack user who asked


@dataclass
class _KeyLock:
    """One lock per result key, shared by the lookups that want it (`users` of them)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


def result_key(lookup: Lookup) -> tuple[str, tuple[str, ...], str | None]:
    return (lookup.provider, tuple(lookup.args), lookup.window_text)


@dataclass
class Runtime:
    settings: Settings
    transport: httpx.BaseTransport | None = None
    runner: Callable[..., lookups.Outcome] = lookups.run
    jobs: JobRunner = field(init=False)
    results: LockedTTL = field(init=False)
    threads: LockedTTL = field(init=False)
    seen: LockedTTL = field(init=False)
    charts: LockedTTL = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.jobs = JobRunner(s.lookup_workers, s.lookup_timeout_s)
        self.results = LockedTTL(maxsize=512, ttl=s.cache_ttl_s)
        self.threads = LockedTTL(maxsize=2048, ttl=THREAD_TTL_S)
        self.seen = LockedTTL(maxsize=10000, ttl=SEEN_TTL_S)
        self.charts = LockedTTL(maxsize=64, ttl=s.cache_ttl_s)
        self._key_locks: dict[Any, _KeyLock] = {}
        self._key_locks_lock = threading.Lock()

    def lookup(self, lookup: Lookup, *, refresh: bool = False) -> lookups.Outcome:
        """Fetch and grade, reusing a result younger than `cache_ttl_s`. Concurrent identical
        lookups wait for the first one instead of each asking the provider."""
        key = result_key(lookup)
        # Counted, not tested with `locked()`: a lookup that has the entry but has not acquired
        # its lock yet still needs it. The last user removes it, whether the runner returned
        # or raised, so failing lookups leave nothing behind.
        with self._key_locks_lock:
            entry = self._key_locks.setdefault(key, _KeyLock())
            entry.users += 1
        try:
            with entry.lock:
                if not refresh:
                    cached = self.results.get(key)
                    if cached is not None:
                        return cached
                outcome = self.runner(lookup, self.settings, self.transport)
                self.results.set(key, outcome)
                return outcome
        finally:
            with self._key_locks_lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._key_locks[key]

    def chart(self, outcome: lookups.Outcome, focus: object | None = None) -> bytes:
        """The PNG for `outcome`, drawn once per result: a chart costs ~0.25 s of CPU."""
        key = (result_key(outcome.lookup), str(focus))
        hit = self.charts.get(key)
        if hit is not None and hit[0] is outcome:
            return hit[1]
        from charts import timeseries  # matplotlib is heavy: import on first chart

        png = timeseries.render(outcome.result, outcome.verdict, focus=focus)
        self.charts.set(key, (outcome, png))
        return png

    def close(self, wait: bool = False) -> None:
        self.jobs.shutdown(wait=wait)
