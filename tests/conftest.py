"""Fixtures for the end-to-end Slack tests: the Slack stub, the provider sandbox and the bot
running in HTTP mode under the production ASGI server on a free loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import build_app
from bot.config import Settings
from bot.runtime import Runtime
from bot.server import EVENTS_PATH, HttpServer
from providers.sandbox import Sandbox
from tests.slack_stub import BOT_USER_ID, TEAM_ID, SlackStub

BOT_TOKEN = "xoxb-1111-2222-testbottokensecret"
SIGNING_SECRET = "test-signing-secret-0f1e2d3c4b5a"
CHANNEL = "CINCIDENT1"
USER = "UONCALL01"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's Slack or provider credentials."""
    ours = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in ours or name.startswith(
            ("SLACK_", "CLOUDFLARE_", "REALTIMEKIT_", "VIDEOSDK_", "STREAM_")
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Even a store opened outside a test's own folder (wider fixtures, child processes)
    stays out of the user's data directory."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The store's SQLite file goes to the test's own folder, never the user's data dir."""
    monkeypatch.setenv("CALLQUALITY_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def _sandbox() -> Iterator[Sandbox]:
    box = Sandbox().start()
    yield box
    box.stop()


@pytest.fixture
def sandbox(_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox with every emulator's faults, delay and request log reset."""
    for server in _sandbox.servers.values():
        server.emulator.faults.clear()
        server.emulator.delay_s = 0.0
        server.emulator.requests.clear()
        server.emulator.rewrites.clear()
    yield _sandbox
    for server in _sandbox.servers.values():
        server.emulator.faults.clear()
        server.emulator.delay_s = 0.0
        server.emulator.rewrites.clear()


def peer(box: Sandbox, key: str = "receive-loss", provider: str = "cf") -> list[str]:
    """Command words that look up the sandbox call `key` with `provider`."""
    for words, truth in box.lookups():
        if truth.key == key and words[0] == provider and len(words) == 2:
            return words
    for words, truth in box.lookups():
        if truth.key == key and words[0] == provider:
            return words
    raise LookupError(f"no sandbox lookup for {provider} {key}")


class RunningBot:
    """The app under uvicorn, and a signed-request client for it."""

    def __init__(self, settings: Settings, slack: SlackStub):
        self.settings = settings
        self.slack = slack
        self.http = httpx.Client(timeout=10.0)
        self._start()

    def _start(self) -> None:
        self.runtime = Runtime(self.settings)
        self.app = build_app(self.settings, runtime=self.runtime)
        self.server = HttpServer(self.app).start()

    @property
    def url(self) -> str:
        return self.server.url + EVENTS_PATH

    def restart(self) -> None:
        """A new process, as far as the bot can tell: new app, fresh caches, same Slack."""
        self.stop_app()
        self._start()

    def stop_app(self) -> None:
        self.server.stop()
        self.runtime.close(wait=True)

    def close(self) -> None:
        self.stop_app()
        self.http.close()

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has nothing left to do (no listener, job or timeout handler in
        flight): after this, whatever it was going to post has been posted."""
        assert self.runtime.wait_idle(timeout), f"the bot was still busy after {timeout} s"

    # --- signed requests -------------------------------------------------------------------
    def signed_headers(
        self,
        body: str | bytes,
        content_type: str,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + ts.encode() + b":" + raw
        key = (secret or SIGNING_SECRET).encode()
        return {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": "v0=" + hmac.new(key, base, hashlib.sha256).hexdigest(),
        }

    def command(
        self,
        text: str,
        *,
        channel: str = CHANNEL,
        response: str = "r1",
        trigger_id: str | None = None,
        **sign: Any,
    ) -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "incident",
                "user_id": USER,
                "user_name": "oncall",
                "command": "/callquality",
                "text": text,
                "api_app_id": "ACQAPP001",
                "response_url": self.slack.response_url(response),
                "trigger_id": trigger_id or f"{time.time_ns()}.{uuid.uuid4().hex[:12]}",
            }
        )
        headers = self.signed_headers(body, "application/x-www-form-urlencoded", **sign)
        return self.http.post(self.url, content=body, headers=headers)

    def event(
        self, event: dict[str, Any], *, retry_num: int | None = None, event_id: str | None = None
    ) -> httpx.Response:
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "ACQAPP001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        body = json.dumps(envelope)
        headers = self.signed_headers(body, "application/json")
        if retry_num is not None:
            headers["x-slack-retry-num"] = str(retry_num)
            headers["x-slack-retry-reason"] = "http_timeout"
        return self.http.post(self.url, content=body, headers=headers)

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        """An interactivity request (block_actions, view_submission), signed like Slack's."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = self.signed_headers(body, "application/x-www-form-urlencoded")
        return self.http.post(self.url, content=body, headers=headers)

    @staticmethod
    def _from(user: str) -> dict[str, Any]:
        return {
            "team": {"id": TEAM_ID, "domain": "test"},
            "user": {"id": user, "username": "oncall", "team_id": TEAM_ID},
            "api_app_id": "ACQAPP001",
            "token": "legacy-verification-token",
        }

    def click(
        self, message: Any, action_id: str, *, user: str = USER, channel: str = CHANNEL
    ) -> httpx.Response:
        """A click on the button `action_id` of `message` (a stub Message)."""
        element = next(
            e
            for block in message.blocks or []
            if block.get("type") == "actions"
            for e in block["elements"]
            if e["action_id"] == action_id
        )
        api = message.as_api(with_metadata=False)
        container = {"type": "message", "message_ts": message.ts, "channel_id": channel}
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": "callquality_card_actions",
            "text": element["text"],
            "action_ts": str(time.time()),
        }
        for key in ("value", "url"):
            if key in element:
                action[key] = element[key]
        return self.interaction(
            {
                **self._from(user),
                "type": "block_actions",
                "container": container,
                "trigger_id": "1234.5678.trigger",
                "channel": {"id": channel, "name": "incident"},
                "message": api,
                "response_url": self.slack.response_url("click"),
                "actions": [action],
            }
        )

    def submit_view(self, view: dict[str, Any], values: dict[str, Any], user: str = USER):
        """A view_submission of the modal `view` (as opened) with its input `values`."""
        return self.interaction(
            {
                **self._from(user),
                "type": "view_submission",
                "trigger_id": "1234.5678.submit",
                "view": {**view, "id": "V0001", "state": {"values": values}},
            }
        )

    def message(
        self,
        text: str,
        *,
        ts: str,
        thread_ts: str | None = None,
        channel: str = CHANNEL,
        user: str = USER,
        **extra: Any,
    ) -> dict[str, Any]:
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "channel_type": "channel",
            **extra,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event


def bot_settings(box: Sandbox, slack: SlackStub, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "lookup_workers": 8,
        "lookup_timeout_s": 20.0,
    }
    values.update(overrides)
    return box.settings(Settings, **values)


@pytest.fixture
def bot(sandbox: Sandbox, slack: SlackStub) -> Iterator[RunningBot]:
    running = RunningBot(bot_settings(sandbox, slack), slack)
    yield running
    running.close()
