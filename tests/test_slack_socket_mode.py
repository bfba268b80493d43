"""`callquality serve` in Socket Mode end to end: the real `serve` on a thread, a loopback
WebSocket endpoint in place of Slack's (tests/socket_stub.py), the Slack Web API stub and the
provider emulators."""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import redact, server
from bot.app import build_app
from bot.runtime import Runtime
from tests.conftest import BOT_TOKEN, CHANNEL, USER, bot_settings, peer
from tests.slack_stub import BOT_USER_ID, TEAM_ID, Message, SlackStub, blocks_text
from tests.socket_stub import APP_ID, Received, SocketModeStub

APP_TOKEN = "xapp-1-ACQAPP001-4242-testapptokensecret9f8e7d"
PNG = b"\x89PNG\r\n\x1a\n"
ACK_WITHIN_S = 3.0  # Slack's deadline for an envelope's ack


def text_of(message: Message) -> str:
    return message.text + "\n" + blocks_text(message.blocks)


class RawLog(logging.Handler):
    """Every log line as the code wrote it: `handle` runs before this handler's filters, and
    this handler comes first on the root logger, so no redaction filter has rewritten it yet."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)
        return True


@dataclass
class SocketBot:
    """`serve(settings)` running in Socket Mode, and what it built."""

    slack: SlackStub
    socket: SocketModeStub
    thread: threading.Thread
    handlers: list[Any] = field(default_factory=list)
    runtimes: list[Runtime] = field(default_factory=list)
    failure: list[BaseException] = field(default_factory=list)

    def envelope(self, type_: str, payload: dict[str, Any], **extra: Any) -> str:
        envelope_id = str(uuid.uuid4())
        self.socket.send({"envelope_id": envelope_id, "type": type_, "payload": payload, **extra})
        return envelope_id

    def acked(self, envelope_id: str) -> Received:
        ack = self.socket.ack(envelope_id, timeout=ACK_WITHIN_S + 2)
        assert ack.at - self.socket.sent[envelope_id] < ACK_WITHIN_S
        return ack

    def command(self, text: str, response: str = "r1") -> str:
        return self.envelope(
            "slash_commands",
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "test",
                "channel_id": CHANNEL,
                "channel_name": "incident",
                "user_id": USER,
                "user_name": "oncall",
                "command": "/callquality",
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": self.slack.response_url(response),
                "trigger_id": "1.2.3",
            },
            accepts_response_payload=True,
        )

    def event(self, event: dict[str, Any]) -> str:
        return self.envelope(
            "events_api",
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "event": event,
                "type": "event_callback",
                "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            },
            accepts_response_payload=False,
            retry_attempt=0,
            retry_reason="",
        )


@pytest.fixture
def raw_log() -> Iterator[RawLog]:
    root = logging.getLogger()
    handler = RawLog()
    root.handlers.insert(0, handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def socket_bot(
    sandbox, slack: SlackStub, raw_log: RawLog, caplog, monkeypatch, request
) -> Iterator[SocketBot]:
    caplog.set_level(logging.DEBUG)
    socket = SocketModeStub().start()
    slack.socket_url = socket.url
    # Indirect parameters: `serve` keyword arguments and setting overrides.
    options = dict(getattr(request, "param", {}))
    serve_kwargs = {k: options.pop(k) for k in ("port", "host") if k in options}
    settings = bot_settings(
        sandbox, slack, slack_app_token=APP_TOKEN, slack_signing_secret=None, **options
    )
    stop = threading.Event()
    frozen = gc.get_freeze_count()

    def run() -> None:
        try:
            server.serve(settings, **serve_kwargs)
        except BaseException as exc:  # SystemExit included: serve's way to refuse to start
            bot.failure.append(exc)

    bot = SocketBot(slack, socket, threading.Thread(target=run, name="serve", daemon=True))

    def build(settings_, runtime=None):
        # The same app `serve` builds, with a runtime the test can shut down afterwards.
        runtime = runtime or Runtime(settings_)
        bot.runtimes.append(runtime)
        return build_app(settings_, runtime=runtime)

    make_handler = server.socket_mode_handler

    def handler_of(app, app_token):
        handler = make_handler(app, app_token)

        # Bolt's start() is connect() and then a wait on an Event nobody can set: wait on ours.
        def start() -> None:
            handler.connect()
            stop.wait()

        handler.start = start
        bot.handlers.append(handler)
        return handler

    monkeypatch.setattr(server, "build_app", build)
    monkeypatch.setattr(server, "socket_mode_handler", handler_of)
    bot.thread.start()
    try:
        socket.wait_connected(timeout=10)
    except AssertionError:
        stop.set()
        bot.thread.join(timeout=5)
        socket.close()
        raise AssertionError(f"serve did not connect: {bot.failure!r}") from None
    yield bot

    # Closing the client waits for its socket read to return: end the connection meanwhile.
    closers = [threading.Thread(target=h.close) for h in bot.handlers]
    for closer in closers:
        closer.start()
    socket.close()
    for closer in closers:
        closer.join(timeout=5)
    stop.set()
    bot.thread.join(timeout=5)
    for runtime in bot.runtimes:
        runtime.close(wait=True)
    for handler in bot.handlers:
        handler.app.listener_runner.listener_executor.shutdown(wait=True)
    if frozen == 0:
        gc.unfreeze()
    # serve put a redaction filter on the root handlers, pytest's own among them.
    for handler in [*logging.getLogger().handlers, caplog.handler]:
        for flt in list(handler.filters):
            if isinstance(flt, redact.SecretFilter):
                handler.removeFilter(flt)
    assert not bot.thread.is_alive() and not any(c.is_alive() for c in closers)
    assert not bot.failure and not socket.errors


def assert_app_token_only_opens_the_connection(bot: SocketBot, raw_log: RawLog, caplog) -> None:
    opens = bot.slack.calls_to("apps.connections.open")
    assert len(opens) == 1
    assert opens[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert APP_TOKEN not in opens[0].raw.decode()
    others = [c for c in bot.slack.calls if c.method != "apps.connections.open"]
    assert others and all(APP_TOKEN not in c.text_blob() for c in others)
    # The Web API calls are made with the bot token.
    assert all(
        c.headers.get("authorization") == f"Bearer {BOT_TOKEN}"
        for c in others
        if c.method not in ("upload", "response")
    )
    # Nor does it travel over the WebSocket.
    assert bot.socket.handshakes and not any(APP_TOKEN in h for h in bot.socket.handshakes)
    assert not any(APP_TOKEN in str(r.message) for r in bot.socket.received)
    # Nor is it logged: neither as written (before redaction) nor as captured.
    assert any("A new session has been established" in line for line in raw_log.lines)
    assert not [line for line in raw_log.lines if APP_TOKEN in line]
    assert caplog.records
    assert not [r for r in caplog.records if APP_TOKEN in r.getMessage() + (r.exc_text or "")]


def test_command_is_acked_then_answered_with_grade_and_chart_in_thread(
    socket_bot: SocketBot, slack: SlackStub, sandbox, raw_log: RawLog, caplog
):
    words = peer(sandbox, "receive-loss")
    envelope_id = socket_bot.command(" ".join(words))

    ack = socket_bot.acked(envelope_id)
    assert ack.message == {
        "envelope_id": envelope_id,
        "payload": {"text": f":hourglass_flowing_sand: Looking up `{' '.join(words)}`…"},
    }

    upload = slack.wait_for(lambda: slack.shared_files(), timeout=15)[0]
    parents = slack.parents(CHANNEL)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.blocks[1]["text"]["text"].startswith(
        ":red_circle: *Poor*: packet loss on receive"
    )
    assert f"`{' '.join(words)}`" in text_of(parent)
    assert parent.metadata["event_type"] == "callquality_result"
    # The chart, in the three upload steps, into the parent's thread.
    steps = [
        c.method
        for c in slack.calls
        if c.method in ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")
    ]
    assert steps == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    complete = slack.calls_to("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == CHANNEL and complete.args["thread_ts"] == parent.ts
    assert upload.channel == CHANNEL and upload.thread_ts == parent.ts
    assert upload.data.startswith(PNG) and upload.length == len(upload.data)
    details = slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=parent.ts))
    assert "All findings" in text_of(details[0])
    # Everything went to the channel; the response_url only turned "Looking up…" into a link.
    note = slack.wait_for(lambda: slack.responses)
    assert len(note) == 1 and note[0]["replace_original"] is True
    assert f"p{parent.ts.replace('.', '')}|open the answer>" in note[0]["text"]

    assert_app_token_only_opens_the_connection(socket_bot, raw_log, caplog)


def test_mention_is_acked_and_answered_in_its_thread(
    socket_bot: SocketBot, slack: SlackStub, sandbox, raw_log: RawLog, caplog
):
    words = peer(sandbox, "receive-loss")
    text = f"<@{BOT_USER_ID}> {' '.join(words)}"
    ts = slack.add_user_message(CHANNEL, text, user=USER)
    mention = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": USER,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }
    envelope_id = socket_bot.event(mention)

    ack = socket_bot.acked(envelope_id)
    assert ack.message == {"envelope_id": envelope_id}

    upload = slack.wait_for(lambda: slack.shared_files(thread_ts=ts), timeout=15)[0]
    replies = slack.posts(CHANNEL, thread_ts=ts)
    assert replies and not slack.parents(CHANNEL)
    summary = replies[0]
    assert ":red_circle: *Poor*: packet loss on receive" in text_of(summary)
    assert f"`{' '.join(words)}`" in text_of(summary)
    assert upload.channel == CHANNEL and upload.data.startswith(PNG)

    assert_app_token_only_opens_the_connection(socket_bot, raw_log, caplog)


def _free_port() -> int:
    import socket as sockets

    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WEBHOOK_PORT = _free_port()


@pytest.mark.parametrize(
    "socket_bot",
    [
        {
            "port": WEBHOOK_PORT,
            "host": "127.0.0.1",
            "alert_channel": "CALERTS01",
            "webhook_delay_s": 0.0,
            "webhook_retries": 0,
        }
    ],
    indirect=True,
)
def test_socket_mode_with_a_port_still_takes_provider_webhooks(socket_bot: SocketBot, sandbox):
    import httpx

    provider, headers, body = sandbox.webhook("cf")
    url = f"http://127.0.0.1:{WEBHOOK_PORT}"
    answer = socket_bot.slack.wait_for(
        lambda: _post_or_none(httpx, f"{url}/webhooks/{provider}", headers, body)
    )
    assert (answer.status_code, answer.text) == (200, "accepted (queued)")
    parent = socket_bot.slack.wait_for(lambda: socket_bot.slack.parents("CALERTS01"), timeout=20)
    assert parent[0].blocks[0]["text"]["text"].startswith("Poor call · ")
    assert httpx.get(f"{url}/healthz").text == "ok"
    # Slack itself is not served over HTTP in Socket Mode: no signing secret was given.
    assert httpx.post(f"{url}/slack/events", content=b"{}").status_code != 200


def _post_or_none(httpx, url: str, headers: dict[str, str], body: bytes):
    try:
        return httpx.post(url, headers=headers, content=body)
    except httpx.ConnectError:  # the server is still starting
        return None
