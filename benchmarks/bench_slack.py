"""Benchmark of the Slack bot in HTTP mode (prints figures beside their goals; not a test).

    python benchmarks/bench_slack.py [--burst 30] [--delay 1.5] [--lookups 200]

The bot runs as `callquality serve` in a process of its own, so its memory and what it imports
are its own; the Slack stub and a Cloudflare emulator run here, on loopback. Every command
looks up a different generated call (a new peer id), so nothing is answered from the cache.
Figures:
  * idle ack latency: one command at a time, each after the previous one's chart is posted;
  * ack latency of a burst of concurrent commands (every provider request takes `--delay`
    seconds), then of a second one sent once the first one's lookups are answered and their
    charts are being drawn, and its ratio to the idle latency;
  * the server's RSS after 100 and after 200 distinct lookups (5-minute calls sampled every
    second), and whether matplotlib is loaded in it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from providers.emulators.cloudflare import EMULATOR  # noqa: E402
from providers.sandbox import EmulatorServer  # noqa: E402
from providers.scenarios import SCENARIOS, generate  # noqa: E402
from tests.slack_stub import SlackStub  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "CBENCH001"
ACK_GOAL_S = 0.100
RATIO_GOAL = 3.0
RSS_GOAL_MB = 200.0
IDLE_COMMANDS = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def distinct_calls(n: int) -> list:
    """`n` generated calls with their own ids (the ids derive from the key) and data."""
    keys = [k for k in SCENARIOS if k != "no-stats"]
    calls = []
    for i in range(n):
        truth = generate(keys[i % len(keys)], duration_s=300, interval_s=1.0, seed=i)
        truth.key = f"{truth.key}-{i}"
        calls.append(truth)
    return calls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`callquality serve` in its own process, pointed at the stub and the emulator."""

    def __init__(self, slack: SlackStub, emulator_env: dict[str, str], workers: int):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLOUDFLARE_"))}
        env.update(emulator_env)
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench-token",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            LOOKUP_WORKERS=str(workers),
            PYTHONPATH=str(ROOT),
            # A fresh store: results cached by an earlier run would be served from it.
            CALLQUALITY_DATA_DIR=tempfile.mkdtemp(prefix="callquality-bench-"),
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def status(self, field: str) -> float:
        """A memory figure of the server process from /proc, in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(field)

    def has_matplotlib(self) -> bool:
        return "matplotlib" in Path(f"/proc/{self.proc.pid}/maps").read_text()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Client:
    def __init__(self, server: Server, slack: SlackStub):
        self.url = server.url + "/slack/events"
        self.slack = slack
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
        self.verifier = SignatureVerifier(SECRET)

    def command(self, text: str) -> float:
        """Send one signed slash command; the seconds until its ack came back."""
        body = urlencode(
            {
                "team_id": "TBENCH",
                "channel_id": CHANNEL,
                "user_id": "UBENCH",
                "command": "/callquality",
                "text": text,
                "response_url": self.slack.response_url(),
                "api_app_id": "A1",
            }
        )
        ts = str(int(time.time()))
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }
        started = time.perf_counter()
        resp = self.http.post(self.url, content=body, headers=headers)
        resp.raise_for_status()
        return time.perf_counter() - started

    def burst(self, texts: list[str]) -> list[float]:
        with ThreadPoolExecutor(len(texts)) as pool:
            return list(pool.map(self.command, texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()

    calls = distinct_calls(IDLE_COMMANDS + 2 * args.burst + args.lookups)
    texts = [f"cf {truth.uuid('peer')}" for truth in calls]
    emulator = EMULATOR(calls)
    with EmulatorServer(emulator) as provider:
        slack = SlackStub().start()
        server = Server(slack, emulator.settings_env(provider.url), workers=16)
        client = Client(server, slack)
        try:
            run(args, server, client, slack, emulator, texts)
        finally:
            server.stop()
            slack.stop()


def run(args, server: Server, client: Client, slack: SlackStub, emulator, texts) -> None:
    rss_start = server.status("VmRSS")
    # Idle: one command at a time, each once the previous answer has its chart.
    idle, to_chart = [], []
    for text in texts[:IDLE_COMMANDS]:
        started = time.perf_counter()
        idle.append(client.command(text))
        want = len(idle)
        slack.wait_for(lambda want=want: len(slack.shared_files()) >= want, timeout=60)
        to_chart.append(time.perf_counter() - started)
    texts = texts[IDLE_COMMANDS:]
    idle_p50 = percentile(idle, 0.5)
    print(
        f"idle ack      p50 {idle_p50 * 1000:7.1f} ms   ({IDLE_COMMANDS} commands one at a time; "
        f"command -> chart in thread: median {statistics.median(to_chart):.2f} s, "
        f"first {to_chart[0]:.2f} s)"
    )

    # A first burst, then a second one while the first one's charts are being drawn.
    n, done = args.burst, len(slack.shared_files())
    emulator.delay_s = args.delay
    started = time.perf_counter()
    first = client.burst(texts[:n])
    # Every lookup of the first burst answered: what is left to do is drawing their charts.
    slack.wait_for(lambda: len(slack.parents(CHANNEL)) >= IDLE_COMMANDS + n, timeout=120)
    pending = done + n - len(slack.shared_files())
    second = client.burst(texts[n : 2 * n])
    slack.wait_for(lambda: len(slack.shared_files()) >= done + 2 * n, timeout=600)
    total = time.perf_counter() - started
    emulator.delay_s = 0.0
    texts = texts[2 * n :]
    print(f"burst of {n} concurrent commands, provider delay {args.delay:.1f} s per request:")
    for label, acks in (("first burst", first), ("during charts", second)):
        print(
            f"  {label:<13} p50 {percentile(acks, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(acks, 0.99) * 1000:7.1f} ms   max {max(acks) * 1000:7.1f} ms"
        )
    p99 = percentile(second, 0.99)
    ratio = p99 / idle_p50
    print(
        f"  goal: p99 during charts < {ACK_GOAL_S * 1000:.0f} ms: "
        f"{'met' if p99 < ACK_GOAL_S else 'MISSED'}; ratio to idle p50 {ratio:.1f}x (goal < "
        f"{RATIO_GOAL:.0f}x: {'met' if ratio < RATIO_GOAL else 'MISSED'})"
    )
    print(f"  (the second burst was sent with {pending} of the first burst's charts to draw)")
    print(f"  all {2 * n} answered with a chart {total:.2f} s after the first burst")

    # Memory: distinct lookups, at most 16 in flight (the job queue refuses floods by design).
    base = len(slack.parents(CHANNEL))
    marks: dict[int, float] = {}
    started = time.perf_counter()
    for i, text in enumerate(texts[: args.lookups]):
        slack.wait_for(lambda i=i: i - (len(slack.parents(CHANNEL)) - base) < 16, timeout=60)
        client.command(text)
        for mark in (100, 200):
            if i + 1 == mark:
                slack.wait_for(lambda m=mark: len(slack.parents(CHANNEL)) - base >= m, timeout=600)
                marks[mark] = server.status("VmRSS")
    slack.wait_for(lambda: len(slack.parents(CHANNEL)) - base >= args.lookups, timeout=600)
    elapsed = time.perf_counter() - started
    rss = server.status("VmRSS")
    growth = marks.get(200, rss) - marks.get(100, rss)
    print(
        f"{args.lookups} distinct lookups (5-minute calls, 1 s samples) answered in "
        f"{elapsed:.1f} s; server RSS {rss_start:.0f} MB at start, "
        + ", ".join(f"{v:.0f} MB after {k}" for k, v in sorted(marks.items()))
        + f", peak {server.status('VmHWM'):.0f} MB"
    )
    print(
        f"  goal: < {RSS_GOAL_MB:.0f} MB: {'met' if rss < RSS_GOAL_MB else 'MISSED'}; "
        f"growth 100th -> 200th {growth:+.1f} MB; matplotlib loaded in the server: "
        f"{'yes' if server.has_matplotlib() else 'no'}"
    )


if __name__ == "__main__":
    main()
