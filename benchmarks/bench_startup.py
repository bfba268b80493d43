"""Start-up cost of the console script (prints figures beside their goals; not a test).

    python benchmarks/bench_startup.py [--runs 10]

Figures: the median wall time of `callquality --help`, and of `callquality check cf <peer>`
against a loopback Cloudflare emulator, with whether that check imported matplotlib (read from
`python -X importtime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from providers.emulators.cloudflare import EMULATOR  # noqa: E402
from providers.sandbox import EmulatorServer  # noqa: E402
from providers.scenarios import generate  # noqa: E402

HELP_GOAL_S = 0.3


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, str]:
    """Median wall time of `runs` runs of `python -m bot <argv>`, and the last one's stderr."""
    times, err = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, text=True
        )
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
        err = proc.stderr
    return statistics.median(times), err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLOUDFLARE_"))}
    env["PYTHONPATH"] = str(ROOT)

    help_s, _ = timed(["-m", "bot", "--help"], env, args.runs)
    print(
        f"callquality --help: {help_s * 1000:.0f} ms (goal < {HELP_GOAL_S * 1000:.0f} ms: "
        f"{'met' if help_s < HELP_GOAL_S else 'MISSED'})"
    )

    truth = generate("receive-loss")
    emulator = EMULATOR([truth])
    with EmulatorServer(emulator) as server:
        env.update(emulator.settings_env(server.url))
        check = ["-m", "bot", "check", "cf", truth.uuid("peer")]
        check_s, _ = timed(check, env, args.runs)
        _, imports = timed(["-X", "importtime", *check], env, 1)
    loaded = any(line.rsplit("|", 1)[-1].strip() == "matplotlib" for line in imports.splitlines())
    print(
        f"callquality check cf <peer> (no --chart): {check_s * 1000:.0f} ms; imports matplotlib: "
        f"{'yes' if loaded else 'no'} (goal: no)"
    )


if __name__ == "__main__":
    main()
