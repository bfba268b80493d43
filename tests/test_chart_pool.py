"""Charts in worker processes: a crashed or stuck worker costs one chart, the server process
never imports matplotlib, and `check` without `--chart` does not either."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot import messages as m
from bot.chart_pool import ChartFailed, ChartPool
from tests import chart_faults
from tests.conftest import RunningBot, bot_settings, peer

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def pool():
    charts = ChartPool(workers=2, draw=chart_faults.draw)
    yield charts
    charts.close()


def test_a_crashed_worker_costs_its_chart_only(pool: ChartPool):
    subjects = ["a", chart_faults.CRASH, "b", "c", "d"]

    def draw(subject: str) -> bytes | str:
        try:
            return pool.render(subject)
        except ChartFailed as exc:
            return str(exc)

    with ThreadPoolExecutor(len(subjects)) as threads:
        results = dict(zip(subjects, threads.map(draw, subjects), strict=True))
    assert results.pop(chart_faults.CRASH) == "the chart's worker process died"
    assert {s: r.split(b":")[:2] for s, r in results.items()} == {
        s: [b"render", s.encode()] for s in results
    }
    assert pool.rebuilds >= 1
    assert pool.render("after").startswith(b"render:after:")


def test_a_stuck_worker_is_killed_at_the_deadline(pool: ChartPool):
    pool.timeout_s = 1.0
    with pytest.raises(ChartFailed, match="took longer than 1 s"):
        pool.render(chart_faults.HANG)
    assert pool.render("after").startswith(b"render:after:")


def test_workers_are_replaced_after_their_share_of_charts():
    charts = ChartPool(workers=1, tasks_per_worker=2, draw=chart_faults.draw)
    try:
        pids = [charts.render(str(n)).split(b":")[2] for n in range(6)]
    finally:
        charts.close()
    assert len(set(pids)) == 3  # two charts each


def test_the_user_is_told_when_a_worker_crashes_and_other_charts_are_posted(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack), slack)
    running.runtime.drawing = ChartPool(workers=2, draw=chart_faults.draw)
    failed = m.CHART_FAILED.split(" (")[0]

    def answered() -> dict[bool, str] | None:
        # thread root by "is it the crashing call?", once both answers are complete
        roots = {chart_faults.CRASH in json.dumps(p.blocks): p.ts for p in slack.parents()}
        if len(roots) < 2:
            return None
        told = any(p.text.startswith(failed) for p in slack.posts(thread_ts=roots[True]))
        return roots if told and slack.shared_files(roots[False]) else None

    try:
        running.command(" ".join(peer(sandbox, "cpu-limited")))
        running.command(" ".join(peer(sandbox, "healthy")))
        roots = slack.wait_for(answered, timeout=30)
        assert slack.shared_files(roots[False])[0].data.startswith(PNG)
        assert not slack.shared_files(roots[True])
        # The bot goes on drawing.
        running.command(" ".join(peer(sandbox, "receive-loss")))
        slack.wait_for(lambda: len(slack.shared_files()) == 2, timeout=30)
    finally:
        running.close()


SERVER_SCRIPT = """
import json, sys
from providers.sandbox import Sandbox
from tests.conftest import CHANNEL, RunningBot, bot_settings, peer
from tests.slack_stub import SlackStub

with Sandbox() as box:
    slack = SlackStub().start()
    running = RunningBot(bot_settings(box, slack), slack)
    try:
        running.command(" ".join(peer(box, "receive-loss")))
        upload = slack.wait_for(lambda: slack.shared_files(), timeout=60)[0]
    finally:
        running.close()
        slack.stop()
    print(json.dumps({"png": upload.data[:8].hex(), "matplotlib": "matplotlib" in sys.modules}))
"""


def _python(code: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_server_process_never_imports_matplotlib():
    got = _python(SERVER_SCRIPT)
    assert got == {"png": PNG.hex(), "matplotlib": False}


CHECK_SCRIPT = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "matplotlib": "matplotlib" in sys.modules}))
"""


@pytest.mark.parametrize(("chart", "imported"), [(False, False), (True, True)])
def test_check_imports_matplotlib_only_for_a_chart(sandbox, tmp_path, chart, imported):
    words = peer(sandbox, "healthy")
    args = ["check", *words] + (["--chart", str(tmp_path / "c.png")] if chart else [])
    code = CHECK_SCRIPT.replace("sys.argv[1:]", repr(args))
    assert _python(code, tmp_path, sandbox.env()) == {"code": 0, "matplotlib": imported}


KILLED_SERVER_SCRIPT = """
import sys
from bot.chart_pool import ChartPool
from tests import chart_faults

pool = ChartPool(workers=1, draw=chart_faults.draw)
print(pool.render("x").split(b":")[2].decode(), flush=True)
sys.stdin.read()  # until killed
"""


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open (Linux)")
def test_workers_exit_when_the_server_is_killed():
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SERVER_SCRIPT],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        worker = int(proc.stdout.readline())
        exited = os.pidfd_open(worker)  # readable once the worker has exited
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    try:
        assert select.select([exited], [], [], 10)[0] == [exited]
    finally:
        os.close(exited)
