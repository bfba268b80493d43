"""The HTTP front under attack: dripping connections, oversized and junk bodies, replays.
Everything goes through the running app on loopback, as Slack (or an attacker) would."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from bot.app import build_app
from bot.server import HttpServer
from tests.conftest import CHANNEL, USER, RunningBot, bot_settings, peer
from tests.slack_stub import BOT_USER_ID, SlackStub

SLOWLORIS = 300


def half_open(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each stopped in the middle of its request head."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Drip: 1\r\n")
        socks.append(sock)
    return socks


@pytest.fixture
def dripping(bot: RunningBot) -> Iterator[list[socket.socket]]:
    socks = half_open(bot.server.port, SLOWLORIS)
    yield socks
    for sock in socks:
        sock.close()


def test_health_and_commands_are_answered_while_300_connections_drip(
    bot: RunningBot, dripping: list[socket.socket]
):
    for sock in dripping[::10]:  # a drip: one more header line on some of them
        sock.sendall(b"X-More: 1\r\n")
    started = time.monotonic()
    health = bot.http.get(bot.server.url + "/healthz", timeout=2)
    health_s = time.monotonic() - started
    started = time.monotonic()
    resp = bot.command("help")
    command_s = time.monotonic() - started
    assert health.status_code == 200 and health_s < 2.0
    assert resp.status_code == 200 and "Usage" in resp.text and command_s < 2.0


def test_a_request_head_that_never_ends_is_cut_off(sandbox, slack: SlackStub):
    app = build_app(bot_settings(sandbox, slack), verify_token=False)
    with HttpServer(app, header_timeout_s=0.3) as server:
        [sock] = half_open(server.port, 1)
        with sock:
            sock.settimeout(3)
            started = time.monotonic()
            assert sock.recv(100) == b""  # closed by the server
            assert time.monotonic() - started < 2.0


def test_a_body_over_the_limit_is_refused_before_it_is_read_or_logged(
    bot: RunningBot, slack: SlackStub, caplog
):
    caplog.set_level(logging.DEBUG)
    body = "command=%2Fcallquality&text=" + "BIGBODYMARKER" * 200_000  # 2.6 MB
    resp = bot.http.post(
        bot.url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 413
    assert "BIGBODYMARKER" not in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 500


def test_an_unsigned_body_is_never_logged(bot: RunningBot, caplog):
    caplog.set_level(logging.DEBUG)
    body = "command=%2Fcallquality&text=UNSIGNEDMARKER%0Afake+log+line"
    resp = bot.http.post(
        bot.url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 401
    assert "UNSIGNEDMARKER" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.name == "callquality.http"] == [
        "refused a request to /slack/events: missing or non-numeric X-Slack-Request-Timestamp "
        "(HTTP 401)"
    ]


def test_slacks_certificate_probe_is_answered_unsigned(bot: RunningBot, slack: SlackStub):
    resp = bot.http.post(
        bot.url,
        content="ssl_check=1&token=legacy&command=%2Fcallquality&text=help",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200 and "Usage" not in resp.text
    assert not slack.posts() and not slack.responses


def _nested(depth: int) -> str:
    return '{"type": "event_callback", "x": ' + "[" * depth + "]" * depth + "}"


JUNK = {
    "timestamp not a number": (b"command=%2Fcallquality&text=help", "form", {"ts": "12abc"}),
    "invalid utf-8": (b"command=%2Fcallquality&text=\xff\xfe", "form", {}),
    "brace but not json": (b"{not json at all", "form", {}),
    "payload not json": (b"payload=notjson", "form", {}),
    "deeply nested json": (_nested(100_000).encode(), "json", {}),
    "moderately nested json": (_nested(500).encode(), "json", {}),
    "json array": (b"[1, 2, 3]", "json", {}),
    "event null": (b'{"type": "event_callback", "event_id": "Ev1", "event": null}', "json", {}),
    "payload in a slash command": (
        b"command=%2Fcallquality&text=help&trigger_id=9.9&payload="
        + quote('{"type": "x"}').encode(),
        "form",
        {},
    ),
}
CONTENT_TYPES = {"form": "application/x-www-form-urlencoded", "json": "application/json"}


@pytest.mark.parametrize("case", list(JUNK))
def test_junk_gets_a_4xx_and_one_log_line(bot: RunningBot, slack: SlackStub, caplog, case):
    caplog.set_level(logging.DEBUG)
    body, kind, extra = JUNK[case]
    headers = bot.signed_headers(body, CONTENT_TYPES[kind])
    if "ts" in extra:
        headers["x-slack-request-timestamp"] = extra["ts"]
    resp = bot.http.post(bot.url, content=body, headers=headers)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    refused = [r for r in caplog.records if r.name == "callquality.http"]
    assert len(refused) == 1 and "\n" not in refused[0].getMessage()
    assert "Traceback" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)
    assert not slack.posts()


def test_a_replayed_slash_command_is_answered_once(bot: RunningBot, slack: SlackStub, sandbox):
    words = " ".join(peer(sandbox, "healthy"))
    first = bot.command(words, trigger_id="4242.1337.abc")
    slack.wait_for(lambda: slack.shared_files(), timeout=15)
    replay = bot.command(words, trigger_id="4242.1337.abc")
    assert first.status_code == 200 and first.text.startswith(":hourglass")
    assert replay.status_code == 200 and replay.text == ""
    again = bot.command("help")  # another invocation is still answered
    assert "Usage" in again.text
    assert len(slack.parents(CHANNEL)) == 1
    # The only response_url use: the first invocation's "Looking up..." replaced by its link.
    assert [r["text"].split(" `")[0] for r in slack.responses] == [":white_check_mark: Answered"]


def test_an_event_retried_after_a_restart_is_answered_once(bot: RunningBot, slack: SlackStub):
    ts = slack.add_user_message(CHANNEL, f"<@{BOT_USER_ID}> help")
    mention = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": USER,
        "text": f"<@{BOT_USER_ID}> help",
        "ts": ts,
    }
    assert bot.event(mention, event_id="EvRESTART01").status_code == 200
    slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=ts))
    bot.restart()
    assert bot.event(mention, event_id="EvRESTART01", retry_num=1).status_code == 200
    # A later mention on the restarted bot is answered: it is up and listening.
    ts2 = slack.add_user_message(CHANNEL, f"<@{BOT_USER_ID}> help")
    bot.event({**mention, "ts": ts2})
    slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=ts2))
    assert len(slack.posts(CHANNEL, thread_ts=ts)) == 1


def test_junk_cases_are_described_without_quoting_the_body():
    # The reasons are fixed sentences: nothing from the body reaches the log line.
    from bot import inbound

    with pytest.raises(inbound.Refused) as err:
        inbound.check(json.dumps({"event": "EVILMARKER"}).encode(), {})
    assert "EVILMARKER" not in err.value.reason
