"""Cost of one lookup end to end (fetch over loopback HTTP + verdict + chart) for a 5-minute
and a 1-hour call sampled every second, against the Cloudflare emulator.

    python benchmarks/bench_lookup.py [--runs 5]

Prints the median wall time and the tracemalloc peak of each, the 1h/5min ratio, and the chart
rendering time of the 1-hour call on its own. Goals: the hour costs < 1.5x the five minutes,
and its chart renders in < 300 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

from bot.commands import parse
from bot.config import Settings
from bot.lookup import Outcome, run
from charts.timeseries import render
from providers.emulators.cloudflare import EMULATOR
from providers.sandbox import EmulatorServer
from providers.scenarios import generate

RATIO_GOAL = 1.5
CHART_GOAL_S = 0.300


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median wall time of `runs` calls, and the last result."""
    result, times = None, []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def peak_bytes(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    calls = {
        "5 min": generate("receive-loss", duration_s=300, interval_s=1),
        "1 hour": generate("receive-loss", duration_s=3600, interval_s=1),
    }
    figures: dict[str, tuple[float, int]] = {}
    outcomes: dict[str, Outcome] = {}
    for label, truth in calls.items():
        emulator = EMULATOR([truth])
        with EmulatorServer(emulator) as server:
            env = emulator.settings_env(server.url)
            settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
            lookup = parse(f"cf {truth.uuid('peer')}")

            def once(lookup=lookup, settings=settings):
                outcome = run(lookup, settings)
                render(outcome.report, outcome.verdict)
                return outcome

            once()  # warm matplotlib, fonts and the HTTP path
            # As `callquality serve` does once it has started: the long-lived objects made at
            # start-up (modules, fonts, the emulator's rendered calls) are left out of the
            # collector's scans, so a big lookup does not pay for rescanning them.
            gc.freeze()
            seconds, outcome = timed(once, args.runs)
            peak = peak_bytes(once)
        outcomes[label] = outcome
        figures[label] = (seconds, peak)
        points = sum(len(s.times) for s in outcome.report.series)
        print(
            f"{label:>7}: lookup + verdict + chart {seconds * 1000:7.1f} ms (median of "
            f"{args.runs}), peak memory {peak / 1e6:6.1f} MB, {len(outcome.report.series)} "
            f"series / {points} samples, verdict {outcome.verdict.grade.value}"
        )

    (short_s, short_mem), (long_s, long_mem) = figures["5 min"], figures["1 hour"]
    ratio = long_s / short_s
    print(
        f"  ratio 1h/5min: time {ratio:.2f}x (goal < {RATIO_GOAL}x: "
        f"{'met' if ratio < RATIO_GOAL else 'MISSED'}), memory {long_mem / short_mem:.2f}x"
    )

    long_report, long_verdict = outcomes["1 hour"].report, outcomes["1 hour"].verdict
    chart_s, _ = timed(lambda: render(long_report, long_verdict), args.runs)
    print(
        f"  chart of the 1-hour call alone: {chart_s * 1000:.1f} ms (goal < "
        f"{CHART_GOAL_S * 1000:.0f} ms: {'met' if chart_s < CHART_GOAL_S else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
