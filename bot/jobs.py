"""A bounded executor for slow lookups, separate from Bolt's listener pool.

Why our own: Bolt's listener threads also run the ack of every new command. If slow provider
calls ran there, a burst of lookups would leave no thread to ack the next command within
Slack's 3 s. Here the number of running jobs is `workers`, at most `queue_size` more wait, and
`submit` refuses beyond that instead of queueing without bound.

Jobs may name a `group` (the provider): at most `group_limit` jobs of one group run at once and
the rest of that group wait without holding a worker, so one slow provider cannot take every
worker from lookups of the others.

A thread cannot be killed, so the per-job timeout is a race the job can lose: when the deadline
passes, `on_timeout` runs and the job's later `claim()` returns False, so a late result is
dropped instead of posted after the user was told it timed out.

`Activity` counts what is in flight (jobs, their timeout handlers, Bolt's listener calls in a
`ListenerPool`), so that a caller can wait until nothing is left to happen: a test that checks
nothing more is posted, or a stop that lets answers finish.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("callquality.jobs")


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class Activity:
    """A count of work in flight; `wait_idle` returns when it drops to zero."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition()

    def begin(self) -> None:
        with self._cond:
            self._count += 1

    def end(self) -> None:
        with self._cond:
            self._count -= 1
            if self._count == 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is in flight; False if `timeout` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout)


class ListenerPool(ThreadPoolExecutor):
    """A thread pool whose submitted calls are counted in `activity` from the moment they are
    submitted: Bolt submits a listener before it answers the request that asked for it."""

    def __init__(self, workers: int, thread_name_prefix: str = ""):
        super().__init__(workers, thread_name_prefix=thread_name_prefix)
        self.activity = Activity()

    def submit(self, fn, /, *args, **kwargs):
        self.activity.begin()
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self.activity.end()
            raise
        future.add_done_callback(lambda _: self.activity.end())
        return future


class Job:
    """Handed to the job function: `claim()` before delivering a result."""

    def __init__(self, deadline: float, on_timeout: Callable[[], None] | None):
        self.deadline = deadline
        self._on_timeout = on_timeout
        self._lock = threading.Lock()
        self._owner: str | None = None  # "job" or "timeout": who delivers the answer

    @property
    def timed_out(self) -> bool:
        return self._owner == "timeout"

    @property
    def _settled(self) -> bool:
        return self._owner is not None

    def claim(self) -> bool:
        """True when the job may deliver: it got there before the deadline (idempotent)."""
        with self._lock:
            if self._owner is None:
                self._owner = "job"
            return self._owner == "job"

    def _expire(self) -> None:
        with self._lock:
            if self._owner is not None:
                return
            self._owner = "timeout"
        if self._on_timeout is not None:
            try:
                self._on_timeout()
            except Exception:
                log.exception("timeout handler failed")


class JobRunner:
    def __init__(
        self,
        workers: int,
        timeout_s: float,
        queue_size: int = 64,
        group_limit: int | None = None,
    ):
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.group_limit = max(1, group_limit) if group_limit else self.workers
        self._running: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[Callable[[], None]]] = defaultdict(deque)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="callquality-job")
        self._slots = threading.BoundedSemaphore(self.workers + max(0, queue_size))
        self._deadlines: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self.activity = Activity()
        self._watchdog = threading.Thread(
            target=self._watch, name="callquality-job-watchdog", daemon=True
        )
        self._watchdog.start()

    def submit(
        self,
        fn: Callable[[Job], None],
        *,
        on_timeout: Callable[[], None] | None = None,
        group: str | None = None,
    ) -> Future[None]:
        """Run `fn(job)` on a worker. Raises Busy when the queue is full."""
        if self._closed or not self._slots.acquire(blocking=False):
            raise Busy()
        self.activity.begin()
        job = Job(time.monotonic() + self.timeout_s, on_timeout)
        with self._cond:
            heapq.heappush(self._deadlines, (job.deadline, next(self._seq), job))
            self._cond.notify()

        done: Future[None] = Future()

        def run() -> None:
            try:
                if not job.timed_out:
                    fn(job)
            except Exception:
                log.exception("job failed")
            finally:
                self._slots.release()
                if group is not None:
                    self._next_of(group)
                self.activity.end()
                done.set_result(None)

        if group is not None:
            with self._cond:
                if self._running[group] >= self.group_limit:
                    self._waiting[group].append(run)
                    return done
                self._running[group] += 1
        try:
            self._pool.submit(run)
        except RuntimeError:  # shut down between the check and the submit
            self._slots.release()
            if group is not None:
                with self._cond:
                    self._running[group] -= 1
            self.activity.end()
            raise Busy() from None
        return done

    def _next_of(self, group: str) -> None:
        """A job of `group` ended: start the next one waiting in that group."""
        with self._cond:
            waiting = self._waiting[group]
            if not waiting:
                self._running[group] -= 1
                return
            nxt = waiting.popleft()
        try:
            self._pool.submit(nxt)
        except RuntimeError:  # shutting down: the waiting jobs are dropped with the pool
            with self._cond:
                self._running[group] -= 1
                self._slots.release()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                while self._deadlines and self._deadlines[0][0] <= now:
                    _, _, job = heapq.heappop(self._deadlines)
                    if not job._settled:
                        # Run the handler outside the lock: it posts to Slack.
                        self._cond.release()
                        self.activity.begin()
                        try:
                            job._expire()
                        finally:
                            self.activity.end()
                            self._cond.acquire()
                wait = self._deadlines[0][0] - time.monotonic() if self._deadlines else None
                self._cond.wait(timeout=wait)

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
