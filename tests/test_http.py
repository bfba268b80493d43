"""providers.http: the shared HTTP call's error translation and retries over real loopback
HTTP."""

from __future__ import annotations

import httpx
import pytest

from providers.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from providers.http import RetryPolicy, make_client, request_json
from providers.sandbox import Emulator, EmulatorServer, Recorded


class Echo(Emulator):
    provider = "echo"
    base_url_env = "ECHO_BASE_URL"
    base_path = "/api"

    def route(self, req: Recorded):
        return 200, {}, {"path": req.path, "q": req.query}


@pytest.fixture
def echo():
    emulator = Echo(calls=[])
    with EmulatorServer(emulator) as server:
        client = make_client(server.url, timeout=httpx.Timeout(1.0))
        yield emulator, client
        client.close()


def call(client, sleeps=None, **kw):
    sleeps = sleeps if sleeps is not None else []
    return request_json(
        client,
        "things/a%20b",
        provider="echo",
        label="Echo",
        auth_hint="Check ECHO_TOKEN.",
        not_found="No such thing.",
        retry=RetryPolicy(sleep=sleeps.append),
        **kw,
    )


def test_success_returns_json_and_sends_path_relative_to_root(echo):
    emulator, client = echo
    assert call(client, params={"x": "1"}) == {"path": "/api/things/a%20b", "q": {"x": ["1"]}}
    assert emulator.requests[0].headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, {"errors": [{"message": "Authentication error"}]}, AuthError, "ECHO_TOKEN"),
        (403, {"error": {"code": 403, "message": "nope"}}, AuthError, "refused access"),
        (404, {"message": "gone"}, NotFoundError, "No such thing. (gone)"),
        (400, {"message": "bad window"}, BadResponseError, "bad window"),
        (418, "teapot", BadResponseError, "HTTP 418"),
    ],
)
def test_error_statuses_translate(echo, status, body, error, words):
    emulator, client = echo
    emulator.faults.append((status, {}, body))
    with pytest.raises(error) as info:
        call(client)
    assert words in str(info.value)
    assert len(emulator.requests) == 1  # not retried


def test_non_json_success_is_bad_response(echo):
    emulator, client = echo
    emulator.faults.append((200, {"Content-Type": "text/html"}, "<html>oops</html>"))
    with pytest.raises(BadResponseError, match="not JSON"):
        call(client)


def test_5xx_is_retried_with_backoff_then_succeeds(echo):
    emulator, client = echo
    emulator.faults.extend([(502, {}, "bad gateway"), (503, {}, {"message": "busy"})])
    sleeps: list[float] = []
    assert call(client, sleeps)["path"] == "/api/things/a%20b"
    assert len(emulator.requests) == 3
    assert sleeps == [0.4, 0.8]


def test_5xx_exhausted_is_unavailable(echo):
    emulator, client = echo
    emulator.faults.extend([(500, {}, "x")] * 3)
    with pytest.raises(UnavailableError, match="Tried 3 times"):
        call(client)
    assert len(emulator.requests) == 3


def test_short_retry_after_waits_and_retries(echo):
    emulator, client = echo
    emulator.faults.append((429, {"Retry-After": "2"}, {"message": "slow down"}))
    sleeps: list[float] = []
    call(client, sleeps)
    assert sleeps == [2.0]


def test_long_retry_after_raises_with_seconds(echo):
    emulator, client = echo
    emulator.faults.append((429, {"Retry-After": "120"}, {}))
    with pytest.raises(RateLimitedError) as info:
        call(client)
    assert info.value.retry_after == 120
    assert "try again in 120 s" in str(info.value)
    assert len(emulator.requests) == 1


def test_timeout_is_unavailable(echo):
    emulator, client = echo
    emulator.delay_s = 0.5
    with make_client(str(client.base_url), timeout=httpx.Timeout(0.05)) as short:
        with pytest.raises(UnavailableError, match="did not answer in time"):
            call(short)


def test_connection_refused_is_unavailable():
    with make_client("http://127.0.0.1:9/") as client:  # discard port: nothing listens
        with pytest.raises(UnavailableError, match="could not be reached"):
            call(client)
