"""Cost of one lookup end to end (fetch over loopback HTTP + verdict + chart) for a 5-minute
and a 1-hour call sampled every second, against the Cloudflare emulator.

    python benchmarks/bench_lookup.py [--runs 9]

Prints the median wall time and the tracemalloc peak of each, the 1h/5min ratio, and the chart
rendering time of each call on its own (drawn here, as a chart worker draws it). Goals: the
hour's lookup costs < 1.5x the five minutes', its chart < 1.3x the five minutes' chart and
< 300 ms.
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
CHART_RATIO_GOAL = 1.3
CHART_GOAL_S = 0.300


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median CPU time of `runs` calls (this process, all threads: the emulator serving the
    call is cheap, its bodies are rendered once), and the last result. CPU rather than wall
    time: the figure is the work done, whatever else the machine runs meanwhile."""
    result, times = None, []
    for _ in range(runs):
        started = time.process_time()
        result = fn()
        times.append(time.process_time() - started)
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
    parser.add_argument("--runs", type=int, default=9)
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
            f"{label:>7}: lookup + verdict + chart {seconds * 1000:7.1f} ms CPU (median of "
            f"{args.runs}), peak memory {peak / 1e6:6.1f} MB, {len(outcome.report.series)} "
            f"series / {points} samples, verdict {outcome.verdict.grade.value}"
        )

    (short_s, short_mem), (long_s, long_mem) = figures["5 min"], figures["1 hour"]
    ratio = long_s / short_s
    print(
        f"  ratio 1h/5min: time {ratio:.2f}x (goal < {RATIO_GOAL}x: "
        f"{'met' if ratio < RATIO_GOAL else 'MISSED'}), memory {long_mem / short_mem:.2f}x"
    )

    charts = {}
    for label, outcome in outcomes.items():
        charts[label], _ = timed(lambda o=outcome: render(o.report, o.verdict), args.runs)
    ratio = charts["1 hour"] / charts["5 min"]
    print(
        f"  chart alone: 5 min {charts['5 min'] * 1000:.1f} ms CPU, 1 hour "
        f"{charts['1 hour'] * 1000:.1f} ms CPU (goal < {CHART_GOAL_S * 1000:.0f} ms: "
        f"{'met' if charts['1 hour'] < CHART_GOAL_S else 'MISSED'}); ratio {ratio:.2f}x (goal < "
        f"{CHART_RATIO_GOAL}x: {'met' if ratio < CHART_RATIO_GOAL else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
