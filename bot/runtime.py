"""What the listeners share for the life of one app: settings, the job runner, the chart
pool and the caches.

Caches are in memory and best effort: after a restart, thread context comes back from the
parent message's metadata and results from the provider. Each is bounded: results by their
estimated size (`RESULTS_BYTES`), charts by their PNG bytes (`CHARTS_BYTES`), thread contexts
and seen message ids by entries; the least recently used entry goes first.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import TTLCache

from bot import lookup as lookups
from bot.chart_pool import ChartPool
from bot.config import Settings
from bot.jobs import JobRunner, ListenerPool
from providers.base import Lookup
from providers.models import Report

SEEN_TTL_S = 3600.0  # Slack retries an event for about 5 minutes; keep ids well past that
THREAD_TTL_S = 3600.0
# Bolt runs every listener here, including the ack of each new command: lookups never run in
# this pool (they go to the job runner), so 16 threads keep acks fast under bursts.
LISTENER_THREADS = 16
RESULTS_BYTES = 24 * 2**20  # an hour sampled every second is ~6.5 MB, five minutes ~0.6 MB
CHARTS_BYTES = 8 * 2**20  # a chart is 60-200 kB of PNG
SAMPLE_BYTES = 72  # a sample: its time and value, each a list slot and a float (tracemalloc)
RESULT_BASE_BYTES = 48 * 1024  # identity, network, events and verdict (also measured)


def request_id() -> str:
    return "cq-" + uuid.uuid4().hex[:10]


class LockedTTL:
    """A TTLCache behind a lock (cachetools caches are not thread-safe). `maxsize` counts
    entries, or whatever `getsizeof` measures (bytes); an entry bigger than it is not kept."""

    def __init__(self, maxsize: int, ttl: float, getsizeof: Callable[[Any], int] | None = None):
        self._cache: TTLCache[Any, Any] = TTLCache(maxsize=maxsize, ttl=ttl, getsizeof=getsizeof)
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._cache.get(key)

    def set(self, key: Any, value: Any) -> None:
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:  # larger than the whole cache: serve it uncached
                self._cache.pop(key, None)

    @property
    def currsize(self) -> int:
        with self._lock:
            return int(self._cache.currsize)

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


@dataclass
class _KeyLock:
    """One lock per result key, shared by the lookups that want it (`users` of them)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


def outcome_bytes(outcome: lookups.Outcome) -> int:
    """An estimate of what a cached result holds in memory, from its number of samples."""
    report = outcome.report
    samples = sum(len(s.values) for s in report.series) if report is not None else 0
    return RESULT_BASE_BYTES + SAMPLE_BYTES * samples


def _chart_bytes(entry: tuple[Any, bytes]) -> int:
    return len(entry[1])


def result_key(lookup: Lookup) -> tuple[str, tuple[str, ...], str | None]:
    return (lookup.provider, tuple(lookup.args), lookup.window_text)


@dataclass
class Runtime:
    settings: Settings
    transport: httpx.BaseTransport | None = None
    runner: Callable[..., lookups.Outcome] = lookups.run
    jobs: JobRunner = field(init=False)
    listener_pool: ListenerPool = field(init=False)
    results: LockedTTL = field(init=False)
    threads: LockedTTL = field(init=False)
    seen: LockedTTL = field(init=False)
    charts: LockedTTL = field(init=False)
    drawing: ChartPool = field(default_factory=ChartPool)

    def __post_init__(self) -> None:
        s = self.settings
        self.jobs = JobRunner(s.lookup_workers, s.lookup_timeout_s)
        self.listener_pool = ListenerPool(LISTENER_THREADS, thread_name_prefix="bolt-listener")
        self.results = LockedTTL(RESULTS_BYTES, s.cache_ttl_s, getsizeof=outcome_bytes)
        self.threads = LockedTTL(maxsize=2048, ttl=THREAD_TTL_S)
        self.seen = LockedTTL(maxsize=10000, ttl=SEEN_TTL_S)
        self.charts = LockedTTL(CHARTS_BYTES, s.cache_ttl_s, getsizeof=_chart_bytes)
        self._key_locks: dict[Any, _KeyLock] = {}
        self._key_locks_lock = threading.Lock()

    @contextmanager
    def _one_at_a_time(self, key: Any) -> Iterator[None]:
        """Hold the lock of `key`: concurrent callers with the same key go one after another.
        Counted, not tested with `locked()`: a caller that has the entry but has not acquired
        its lock yet still needs it. The last user removes it, whether its work returned or
        raised, so failures leave nothing behind."""
        with self._key_locks_lock:
            entry = self._key_locks.setdefault(key, _KeyLock())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._key_locks_lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._key_locks[key]

    def lookup(self, lookup: Lookup, *, refresh: bool = False) -> lookups.Outcome:
        """Fetch and grade, reusing a result younger than `cache_ttl_s`. Concurrent identical
        lookups wait for the first one instead of each asking the provider."""
        key = result_key(lookup)
        with self._one_at_a_time(key):
            if not refresh:
                cached = self.results.get(key)
                if cached is not None:
                    return cached
            outcome = self.runner(lookup, self.settings, self.transport)
            self.results.set(key, outcome)
            return outcome

    def chart(self, outcome: lookups.Outcome, focus: str | None = None) -> bytes:
        """The PNG for `outcome`, drawn once per result in the chart pool (concurrent askers
        for the same chart wait for the first). Raises ChartFailed. The cache holds the
        outcome weakly: a chart never keeps an evicted result alive."""
        key = (result_key(outcome.lookup), str(focus))
        with self._one_at_a_time(("chart", key)):
            hit = self.charts.get(key)
            if hit is not None and hit[0]() is outcome:
                return hit[1]
            png = self.drawing.render(outcome.result, outcome.verdict, focus=focus)
            self.charts.set(key, (weakref.ref(outcome), png))
            return png

    def compare_chart(self, first: lookups.Outcome, second: lookups.Outcome) -> bytes:
        """Two participants side by side, drawn in the chart pool. Raises ChartFailed."""
        a, b = first.result, second.result
        assert isinstance(a, Report) and isinstance(b, Report)
        return self.drawing.render_compare(a, b, first.verdict, second.verdict)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no listener call, job or timeout handler is in flight. A listener submits
        its job before it returns, so with no listener left every job is already counted."""
        deadline = time.monotonic() + timeout
        if not self.listener_pool.activity.wait_idle(timeout):
            return False
        return self.jobs.activity.wait_idle(max(0.0, deadline - time.monotonic()))

    def close(self, wait: bool = False) -> None:
        self.listener_pool.shutdown(wait=wait, cancel_futures=not wait)
        self.jobs.shutdown(wait=wait)
        self.drawing.close(wait=wait)
