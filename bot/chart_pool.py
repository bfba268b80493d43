"""Charts are drawn in a small pool of worker processes, never in the process answering Slack.

Why processes: a chart is a quarter second of CPU under the interpreter lock, and matplotlib
adds ~60 MB to the process that imports it. Drawn in threads of the server, a burst of charts
delays every ack that arrives meanwhile; drawn here, the server only waits on a future.

- The pool is small (`default_workers()`: one worker per CPU, at most `MAX_WORKERS`) and its
  workers run at a lower priority (`WORKER_NICENESS`), so the server's acks win the CPU when
  both want it.
- Workers are replaced after `TASKS_PER_WORKER` charts each, so a slow leak in matplotlib
  stays bounded. Not with `max_tasks_per_child`: on Python 3.11 to 3.13 the executor can stop
  scheduling once a worker retires with work queued (CPython gh-115634). Instead the whole
  executor is swapped for a new one, and the old one finishes what it holds and exits.
- Workers start from a forkserver where the platform has one: it imports matplotlib once and
  forks every worker from itself, already warm. Elsewhere they are spawned.
- At most one chart per worker is handed to the executor at a time (the others wait here), so
  the deadline counts drawing time only and a killed pool holds no queue of innocent charts.
- A chart has `timeout_s` to come back. A stuck worker is killed; a crashed one breaks the
  pool. Either way the pool is rebuilt and only that chart is lost (`ChartFailed`): the charts
  that were in flight beside it are retried once, one at a time, so the one that keeps
  crashing its worker cannot take another chart down with it on the retry.

Arguments cross as pickled data (the pydantic `Report`, the `Verdict` dataclass); the PNG
bytes come back.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection

log = logging.getLogger("callquality.charts")

TIMEOUT_S = 20.0  # a chart takes well under a second; this is for a worker that hangs
TASKS_PER_WORKER = 50
MAX_WORKERS = 4
WORKER_NICENESS = 10
PRELOAD = ["charts.timeseries"]  # imported once by the forkserver, inherited by workers
KINDS = ("render", "render_compare")  # the functions of `charts.timeseries` a task may call


class ChartFailed(Exception):
    """The chart could not be drawn: its worker crashed, hung past the deadline, or raised."""


def default_workers() -> int:
    """One per CPU this process may use, at most `MAX_WORKERS`. They run niced: measured on two
    cores, two workers draw a burst's charts a third sooner than one, and acks stay as fast."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def draw(kind: str, args: tuple, kwargs: dict) -> bytes:
    """Run in a worker: `charts.timeseries.<kind>(*args, **kwargs)`."""
    if kind not in KINDS:
        raise ValueError(f"unknown chart kind {kind!r}")
    from charts import timeseries

    return getattr(timeseries, kind)(*args, **kwargs)


def _start_worker(lifeline: Connection) -> None:
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass
    threading.Thread(target=_exit_with_server, args=(lifeline,), daemon=True).start()
    import charts.timeseries  # noqa: F401  (warm, when the start method did not preload it)


def _exit_with_server(lifeline: Connection) -> None:
    # A worker waits for tasks on a queue whose write end every worker also holds, so it never
    # sees the server die (killed, or SIGTERM's default). This end sees EOF when it does.
    try:
        lifeline.recv()  # nothing is ever sent
    except (EOFError, OSError):
        pass
    os._exit(0)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)  # no effect once the forkserver runs: harmless
        return ctx
    return multiprocessing.get_context("spawn")


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # Python 3.14 has `pool.kill_workers()`; before it, the processes are only reachable here.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, ValueError):  # already gone
            pass


class ChartPool:
    """`render(...)` and `render_compare(...)` of `charts.timeseries`, in worker processes.

    Processes start on the first chart. `draw` is the function a worker runs (a module-level
    function, so that it pickles by name); tests swap in one that crashes or hangs.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout_s: float = TIMEOUT_S,
        tasks_per_worker: int = TASKS_PER_WORKER,
        draw: Callable[[str, tuple, dict], bytes] = draw,
    ):
        self.workers = workers or default_workers()
        self.timeout_s = timeout_s
        self.tasks_per_worker = tasks_per_worker
        self._draw = draw
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.workers)
        self._retry = threading.Lock()  # retries run one at a time (see the module docstring)
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: tuple[Connection, Connection] | None = None  # (workers' end, ours)
        self._handed = 0  # charts handed to `_pool` so far
        self._closed = False
        self.rebuilds = 0

    def render(self, *args, **kwargs) -> bytes:
        return self._run("render", args, kwargs)

    def render_compare(self, *args, **kwargs) -> bytes:
        return self._run("render_compare", args, kwargs)

    def _run(self, kind: str, args: tuple, kwargs: dict) -> bytes:
        try:
            return self._attempt(kind, args, kwargs)
        except BrokenExecutor:
            pass  # its worker died under it, or under another chart: once more, alone
        with self._retry:
            try:
                return self._attempt(kind, args, kwargs)
            except BrokenExecutor:
                raise ChartFailed("the chart's worker process died") from None

    def _attempt(self, kind: str, args: tuple, kwargs: dict) -> bytes:
        with self._slots:
            pool, future = self._submit(kind, args, kwargs)
            try:
                return future.result(timeout=self.timeout_s)
            except FutureTimeout:
                log.warning("chart not drawn in %g s: killing its pool's workers", self.timeout_s)
                self._drop(pool, kill=True)
                raise ChartFailed(f"the chart took longer than {self.timeout_s:g} s") from None
            except BrokenExecutor:
                self._drop(pool)
                raise

    def _submit(self, kind: str, args: tuple, kwargs: dict):
        with self._lock:
            if self._closed:
                raise ChartFailed("the chart pool is closed")
            old = None
            if self._pool is not None and self._handed >= self.tasks_per_worker * self.workers:
                old, self._pool = self._pool, None
            if self._pool is None:
                ctx = _context()
                if self._lifeline is None:
                    self._lifeline = ctx.Pipe(duplex=False)
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=ctx,
                    initializer=_start_worker,
                    initargs=(self._lifeline[0],),
                )
                self._handed = 0
            self._handed += 1
            pool = self._pool
            try:
                future = pool.submit(self._draw, kind, args, kwargs)
            except BrokenExecutor:  # broke after its last chart: the retry makes a new one
                self._pool = None
                pool.shutdown(wait=False)
                raise
        if old is not None:
            old.shutdown(wait=False)  # its running charts finish, then its workers exit
        return pool, future

    def _drop(self, pool: ProcessPoolExecutor, kill: bool = False) -> None:
        """Stop using `pool` (the next chart makes a new one) and shut it down."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
                self.rebuilds += 1
        if kill:
            _kill_workers(pool)  # the pool breaks: the charts beside the stuck one retry
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            lifeline, self._lifeline = self._lifeline, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if lifeline is not None:
            for end in lifeline:
                end.close()
