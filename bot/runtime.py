"""What the listeners share for the life of one app: settings, the job runner, the store, the
chart pool and the caches.

Delivery claims and lookup results go through the store (`bot.store`: SQLite, or Redis shared by
replicas), so a retry after a restart or on another replica is answered once and a result is
fetched once. Thread context and charts stay in memory: they are cheap to rebuild. Each memory
cache is bounded: results by their estimated size (`RESULTS_BYTES`), charts by their PNG bytes
(`CHARTS_BYTES`), thread contexts by entries; the least recently used entry goes first.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import logging
import pickle
import secrets
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import TTLCache

from bot import lookup as lookups
from bot.chart_pool import ChartPool
from bot.config import Settings
from bot.jobs import JobRunner, ListenerPool
from bot.store import Store, open_store
from providers.base import Lookup
from providers.models import Report

log = logging.getLogger("callquality.runtime")

SEEN_TTL_S = 3600.0  # Slack retries an event for about 5 minutes; keep ids well past that
THREAD_TTL_S = 3600.0
# Bolt runs every listener here, including the ack of each new command: lookups never run in
# this pool (they go to the job runner), so 16 threads keep acks fast under bursts.
LISTENER_THREADS = 16
RESULTS_BYTES = 48 * 2**20  # an hour sampled every second is ~6.5 MB, five minutes ~0.6 MB
CHARTS_BYTES = 16 * 2**20  # a chart is 60-200 kB of PNG
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
    card_ts: str | None = None  # the message carrying the metadata (the card)
    grade: str | None = None  # the grade the card shows
    asked_by: str | None = None  # the Slack user who asked


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


def store_key(key: tuple[str, tuple[str, ...], str | None]) -> str:
    return "result:" + hashlib.sha256(repr(key).encode()).hexdigest()


class Sealer:
    """Results cross the store as pickles, so each carries an HMAC: whoever can write to the
    store (a shared Redis) without the key cannot make the bot unpickle what they wrote."""

    def __init__(self, key: bytes):
        self._key = key

    def seal(self, value: object) -> bytes:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return hmac.new(self._key, data, hashlib.sha256).digest() + data

    def unseal(self, blob: bytes) -> object | None:
        mac, data = blob[:32], blob[32:]
        if not hmac.compare_digest(mac, hmac.new(self._key, data, hashlib.sha256).digest()):
            return None
        return pickle.loads(data)


def _sealer(settings: Settings) -> Sealer:
    # Replicas share the Slack secrets, so they read each other's results; without one the
    # results stay readable by this process only. The version keeps a release from reading
    # the pickles of another, whose classes may differ.
    secret = settings.slack_signing_secret or settings.slack_bot_token
    key = secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32)
    try:
        version = importlib.metadata.version("callquality")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return Sealer(hashlib.sha256(f"callquality {version} results:".encode() + key).digest())


@dataclass
class Runtime:
    settings: Settings
    transport: httpx.BaseTransport | None = None
    runner: Callable[..., lookups.Outcome] = lookups.run
    store: Store | None = None  # default: `open_store(settings)`
    jobs: JobRunner = field(init=False)
    listener_pool: ListenerPool = field(init=False)
    results: LockedTTL = field(init=False)
    threads: LockedTTL = field(init=False)
    charts: LockedTTL = field(init=False)
    drawing: ChartPool = field(default_factory=ChartPool)

    def __post_init__(self) -> None:
        s = self.settings
        self.jobs = JobRunner(
            s.lookup_workers,
            s.lookup_timeout_s,
            group_limit=s.provider_concurrency or max(1, s.lookup_workers // 2),
        )
        if self.store is None:
            self.store = open_store(s)
        self._sealer = _sealer(s)
        self.listener_pool = ListenerPool(LISTENER_THREADS, thread_name_prefix="bolt-listener")
        # In front of the store: the same Outcome object comes back, so its chart is reused.
        self.results = LockedTTL(RESULTS_BYTES, s.cache_ttl_s, getsizeof=outcome_bytes)
        self.threads = LockedTTL(maxsize=2048, ttl=THREAD_TTL_S)
        self.charts = LockedTTL(CHARTS_BYTES, s.cache_ttl_s, getsizeof=_chart_bytes)
        self._key_locks: dict[Any, _KeyLock] = {}
        self._key_locks_lock = threading.Lock()

    def claim(self, key: str, ttl_s: float = SEEN_TTL_S) -> bool:
        """True the first time `key` is claimed by any process sharing the store. When the
        store cannot be reached, True: a rare double answer beats a bot gone silent."""
        assert self.store is not None
        try:
            return self.store.claim(key, ttl_s)
        except Exception as exc:
            log.warning(
                "store unavailable (%s): answering without the once check", type(exc).__name__
            )
            return True

    def _cached(self, key: Any) -> lookups.Outcome | None:
        hit = self.results.get(key)
        if hit is not None:
            return hit
        assert self.store is not None
        try:
            blob = self.store.get(store_key(key))
            outcome = self._sealer.unseal(blob) if blob is not None else None
        except Exception as exc:  # a cache that cannot be read is a cache miss
            log.warning("result cache unreadable (%s)", type(exc).__name__)
            return None
        if isinstance(outcome, lookups.Outcome):
            self.results.set(key, outcome)
            return outcome
        return None

    def _keep(self, key: Any, outcome: lookups.Outcome) -> None:
        self.results.set(key, outcome)
        assert self.store is not None
        try:
            self.store.set(store_key(key), self._sealer.seal(outcome), self.settings.cache_ttl_s)
        except Exception as exc:
            log.warning("result cache not written (%s)", type(exc).__name__)

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
                    cached = self._cached(key)
                    if cached is not None:
                        return cached
                outcome = self.runner(lookup, self.settings, self.transport)
                self._keep(key, outcome)
                return outcome
        finally:
            with self._key_locks_lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._key_locks[key]

    def chart(self, outcome: lookups.Outcome, focus: str | None = None) -> bytes:
        """The PNG for `outcome`, drawn once per result in the chart pool. Raises ChartFailed.
        The cache holds the outcome weakly: a chart never keeps an evicted result alive."""
        key = (result_key(outcome.lookup), str(focus))
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
        if self.store is not None:
            self.store.close()
