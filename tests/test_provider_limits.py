"""Provider answers that are slow, huge or hostile: a total deadline per request, per-provider
job limits, size caps while streaming, deeply nested JSON."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib

import httpx
import pytest

from providers.errors import BadResponseError, UnavailableError
from providers.http import Limits, RetryPolicy, make_client, request_json
from providers.sandbox import Drip, Emulator, EmulatorServer, Recorded
from tests.conftest import CHANNEL, RunningBot, bot_settings, peer

MB = 1024 * 1024


class Echo(Emulator):
    provider = "echo"
    base_url_env = "ECHO_BASE_URL"

    def route(self, req: Recorded):
        return 200, {}, {"ok": True}


@pytest.fixture
def echo():
    emulator = Echo(calls=[])
    with EmulatorServer(emulator) as server:
        yield emulator, server


def get(server: EmulatorServer, limits: Limits | None = None):
    with make_client(server.url, timeout=httpx.Timeout(15.0), limits=limits) as client:
        return request_json(
            client, "x", provider="echo", label="Echo", retry=RetryPolicy(sleep=lambda s: None)
        )


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """256 MB of JSON whitespace in a 250 kB gzip body."""
    z = zlib.compressobj(9, wbits=zlib.MAX_WBITS | 16)
    chunk = b" " * MB
    return b"".join([*(z.compress(chunk) for _ in range(256)), z.flush()])


def test_a_dripping_body_is_cut_at_the_total_deadline(echo):
    emulator, server = echo
    emulator.faults.append((200, {}, Drip(b'{"ok": true}' + b" " * 40, every_s=0.1)))
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="did not answer within 1 s"):
        get(server, Limits(deadline_s=1.0))
    assert time.monotonic() - started < 1.6  # each read was quick: only the total can stop it


def test_a_gzip_bomb_is_refused_while_it_streams(echo, bomb):
    emulator, server = echo
    emulator.faults.append((200, {"Content-Encoding": "gzip"}, bomb))
    tracemalloc.start()
    try:
        with pytest.raises(BadResponseError, match="response was too large"):
            get(server)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * MB, peak


def test_a_body_over_the_cap_is_refused(echo):
    emulator, server = echo
    emulator.faults.append((200, {}, b'{"x": "' + b"a" * (2 * MB) + b'"}'))
    with pytest.raises(BadResponseError, match=r"response was too large \(over 1 MB\)"):
        get(server, Limits(max_bytes=MB))
    # Under the cap, compressed or not, the body is read whole.
    body = json.dumps({"x": "a" * (MB // 2)}).encode()
    emulator.faults.append((200, {"Content-Encoding": "gzip"}, gzip.compress(body)))
    assert get(server, Limits(max_bytes=MB)) == {"x": "a" * (MB // 2)}


def test_an_encoding_that_was_not_asked_for_is_a_bad_response(echo):
    emulator, server = echo
    emulator.faults.append((200, {"Content-Encoding": "br"}, b"\x0b\x02\x80{}\x03"))
    with pytest.raises(BadResponseError, match="did not encode as announced"):
        get(server)
    assert emulator.requests[0].headers["accept-encoding"] == "gzip, deflate"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("provider", ["cf", "videosdk", "stream"])
def test_deeply_nested_json_is_a_provider_error(bot: RunningBot, sandbox, slack, provider):
    sandbox.servers[provider].emulator.faults.append((200, {}, nested(200_000)))
    bot.command(" ".join(peer(sandbox, "healthy", provider)))
    reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
    assert reply["text"].startswith(":warning: ")
    assert "Sorry, something went wrong" not in reply["text"]


def test_a_huge_provider_body_is_answered_as_too_large(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack, provider_max_bytes=MB), slack)
    try:
        huge = b'{"success": true, "data": "' + b"a" * (3 * MB) + b'"}'
        sandbox.servers["cf"].emulator.faults.append((200, {}, huge))
        running.command(" ".join(peer(sandbox)))
        reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
        assert "response was too large" in reply["text"]
    finally:
        running.close()


def test_a_slow_provider_neither_holds_lookups_past_its_deadline_nor_starves_others(sandbox, slack):
    # Two workers; at most one per provider. Two dripping Cloudflare lookups must leave a
    # worker for VideoSDK, and each ends at the deadline with a clear answer.
    settings = bot_settings(
        sandbox, slack, lookup_workers=2, provider_deadline_s=1.5, lookup_timeout_s=20
    )
    running = RunningBot(settings, slack)
    try:
        drip = (200, {}, Drip(b'{"success": true}' + b" " * 40, every_s=0.15))
        sandbox.servers["cf"].emulator.faults.extend([drip, drip])
        running.command(" ".join(peer(sandbox, "receive-loss")), response="cf1")
        running.command(" ".join(peer(sandbox, "turn-tcp")), response="cf2")
        started = time.monotonic()
        running.command(" ".join(peer(sandbox, "healthy", "videosdk")), response="vs")
        slack.wait_for(lambda: slack.parents(CHANNEL), timeout=10)
        assert time.monotonic() - started < 1.2

        def errors():
            # The answered lookup's "Looking up..." note is replaced by its link: not an error.
            got = [r for r in slack.responses if "Answered" not in r["text"]]
            return got if len(got) == 2 else None

        replies = slack.wait_for(errors, 10)
        assert all("did not answer within 1.5 s" in r["text"] for r in replies)
        assert time.monotonic() - started < 4.5
    finally:
        running.close()
