"""Benchmark of the Slack bot in HTTP mode (prints figures; not a test).

    python benchmarks/bench_slack.py [--burst 30] [--delay 1.5] [--lookups 500]

Everything runs on loopback: the app under uvicorn, the Slack stub, the sandbox emulators.
Figures:
  * ack latency p50/p99 of a burst of concurrent slash commands while every provider request
    takes `--delay` seconds (Slack's limit is 3 s);
  * time from command to chart shared in the thread (single command, cold cache), and until
    every answer of the burst has its chart;
  * peak RSS after `--lookups` slash commands answered end to end.
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.server import EVENTS_PATH, HttpServer  # noqa: E402
from providers.sandbox import Sandbox  # noqa: E402
from tests.slack_stub import SlackStub  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "CBENCH001"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, box: Sandbox, slack: SlackStub, **overrides):
        self.slack = slack
        settings = box.settings(
            slack_bot_token="xoxb-bench-token",
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            # A fresh store: results cached by an earlier run would skew the timings.
            callquality_data_dir=tempfile.mkdtemp(prefix="callquality-bench-"),
            **overrides,
        )
        self.runtime = Runtime(settings)
        self.server = HttpServer(build_app(settings, runtime=self.runtime)).start()
        self.url = self.server.url + EVENTS_PATH
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
        self.verifier = SignatureVerifier(SECRET)

    def command(self, text: str) -> float:
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

    def close(self) -> None:
        self.server.stop()
        self.runtime.close(wait=True)
        self.http.close()


def lookups(box: Sandbox) -> list[str]:
    return [" ".join(words) for words, _ in box.lookups()]


def set_delay(box: Sandbox, delay: float) -> None:
    for server in box.servers.values():
        server.emulator.delay_s = delay


def bench_burst(box: Sandbox, n: int, delay: float) -> None:
    slack = SlackStub().start()
    bench = Bench(box, slack, lookup_workers=16)
    words = lookups(box)
    texts = [words[i % len(words)] for i in range(n)]
    set_delay(box, delay)
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            acks = list(pool.map(bench.command, texts))
        slack.wait_for(lambda: len(slack.shared_files()) >= n, timeout=300)
        total = time.perf_counter() - started
        print(f"burst of {n} commands, provider delay {delay:.1f} s per request:")
        print(
            f"  ack latency   p50 {percentile(acks, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(acks, 0.99) * 1000:7.1f} ms   max {max(acks) * 1000:7.1f} ms"
        )
        print(
            f"  all {n} answered with a chart after {total:.2f} s "
            f"({len(set(texts))} distinct lookups)"
        )
    finally:
        set_delay(box, 0.0)
        bench.close()
        slack.stop()


def bench_single(box: Sandbox, delay: float) -> None:
    times = []
    for text in lookups(box)[:6]:
        slack = SlackStub().start()
        bench = Bench(box, slack)
        set_delay(box, delay)
        try:
            started = time.perf_counter()
            bench.command(text)
            slack.wait_for(lambda s=slack: s.shared_files(), timeout=60)
            times.append(time.perf_counter() - started)
        finally:
            set_delay(box, 0.0)
            bench.close()
            slack.stop()
    print(
        f"command -> chart in thread (cold cache, provider delay {delay:.1f} s): "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )


def bench_memory(box: Sandbox, n: int) -> None:
    slack = SlackStub().start()
    bench = Bench(box, slack, lookup_workers=8)
    words = lookups(box)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        started = time.perf_counter()
        for i in range(n):
            # Keep at most 32 lookups in flight: the job queue would refuse a flood (by design).
            while i - len(slack.parents(CHANNEL)) >= 32:
                time.sleep(0.005)
            bench.command(words[i % len(words)])
        slack.wait_for(lambda: len(slack.parents(CHANNEL)) >= n, timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        bench.close()
        slack.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{n} lookups answered end to end in {elapsed:.1f} s ({len(set(words))} distinct, "
        f"results cached {bench.runtime.settings.cache_ttl_s:.0f} s): "
        f"peak RSS {peak:.0f} MiB (was {before:.0f} MiB before them)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with Sandbox() as box:
        bench_single(box, 0.0)
        bench_single(box, args.delay)
        bench_burst(box, args.burst, args.delay)
        bench_memory(box, args.lookups)


if __name__ == "__main__":
    main()
