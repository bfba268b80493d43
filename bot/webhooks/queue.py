"""A small bounded scheduler for webhook work: acknowledge first, grade later.

Jobs are keyed by call: a second event of a call that is still waiting merges into the
waiting job (one grading, one message), and a call is never processed by two workers at once.
`offer` raises `Full` when `capacity` calls are waiting or running, so the webhook is refused
with 503 and the provider retries. A job's function returns None when done, or the seconds
to wait before it is tried again (stats still incomplete).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("callquality.webhooks")


class Full(Exception):
    """Every slot is taken."""


@dataclass
class _Job:
    key: str
    payload: Any
    due: float
    attempt: int = 0


class Scheduler:
    def __init__(
        self,
        work: Callable[[Any, int], float | None],
        *,
        workers: int = 2,
        capacity: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._work = work
        self._capacity = max(1, capacity)
        self._clock = clock
        self._waiting: dict[str, _Job] = {}
        self._running: set[str] = set()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"webhook-worker-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def has_room(self, key: str) -> bool:
        with self._cond:
            return key in self._waiting or self._load() < self._capacity

    def _load(self) -> int:
        return len(self._waiting.keys() | self._running)

    def offer(self, key: str, payload: Any, delay_s: float) -> str:
        """Schedule `payload` for call `key` in `delay_s`; "queued" or "merged"."""
        with self._cond:
            if self._closed:
                raise Full()
            due = self._clock() + max(0.0, delay_s)
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.payload = payload
                waiting.due = max(waiting.due, due)
                self._cond.notify_all()
                return "merged"
            if self._load() >= self._capacity:
                raise Full()
            self._waiting[key] = _Job(key, payload, due)
            self._cond.notify_all()
            return "queued"

    def _next(self) -> _Job | None:
        """The earliest due job whose call is not running; waits for one. None when closed."""
        with self._cond:
            while not self._closed:
                now = self._clock()
                ready = [j for j in self._waiting.values() if j.key not in self._running]
                due = [j for j in ready if j.due <= now]
                if due:
                    job = min(due, key=lambda j: j.due)
                    del self._waiting[job.key]
                    self._running.add(job.key)
                    return job
                wait = min((j.due for j in ready), default=None)
                self._cond.wait(timeout=None if wait is None else max(0.0, wait - now))
            return None

    def _loop(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            retry: float | None = None
            try:
                retry = self._work(job.payload, job.attempt)
            except Exception:
                log.exception("webhook job for %s failed", job.key)
            with self._cond:
                self._running.discard(job.key)
                if retry is not None and not self._closed and job.key not in self._waiting:
                    job.attempt += 1
                    job.due = self._clock() + retry
                    self._waiting[job.key] = job
                self._cond.notify_all()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is waiting or running (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._waiting or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=left)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
