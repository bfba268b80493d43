"""Provider webhooks through the real HTTP server: signed deliveries from the sandbox (RSA keys
served by the Cloudflare and VideoSDK emulators, HMAC for Stream, gzip included), forged,
stale and replayed ones; the alert channel of the Slack stub gets one message per call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot import webhooks as hooks
from bot.app import build_app
from bot.runtime import Runtime
from bot.server import HttpServer
from providers.emulators import webhooks as signed
from providers.emulators.cloudflare import CloudflareEmulator
from providers.emulators.videosdk import SHARED_SESSION
from providers.sandbox import Sandbox
from tests.conftest import bot_settings
from tests.slack_stub import SlackStub, blocks_text

ALERTS = "CALERTS01"


class Hooked:
    """The bot under waitress with webhooks on, and a client that posts deliveries to it."""

    def __init__(self, box: Sandbox, slack: SlackStub, **overrides: Any):
        values = {"alert_channel": ALERTS, "webhook_delay_s": 0.0, "webhook_retries": 0}
        self.settings = bot_settings(box, slack, **{**values, **overrides})
        self.runtime = Runtime(self.settings)
        self.app = build_app(self.settings, runtime=self.runtime)
        self.webhooks = hooks.build(self.settings, self.runtime, self.app.client)
        assert self.webhooks is not None
        self.server = HttpServer(self.app, webhooks=self.webhooks).start()
        self.http = httpx.Client(timeout=10.0)

    def send(self, delivery: signed.Delivery) -> httpx.Response:
        provider, headers, body = delivery
        return self.http.post(
            f"{self.server.url}/webhooks/{provider}", content=body, headers=headers
        )

    def close(self) -> None:
        self.server.stop()
        self.webhooks.close()
        self.runtime.close(wait=True)
        self.http.close()


@pytest.fixture
def hooked(sandbox: Sandbox, slack: SlackStub) -> Iterator[Hooked]:
    running = Hooked(sandbox, slack)
    yield running
    running.close()


def alerts(slack: SlackStub):
    return slack.parents(ALERTS)


def test_cloudflare_meeting_ended_posts_one_ranked_alert_and_updates_it_on_repeats(
    hooked: Hooked, slack, sandbox
):
    delivery = sandbox.webhook("cf")
    answer = hooked.send(delivery)
    assert (answer.status_code, answer.text) == (200, "accepted (queued)")
    assert hooked.webhooks.idle(20)
    [parent] = alerts(slack)
    text = blocks_text(parent.blocks)
    assert text.startswith("Poor call · Participants of Cloudflare RealtimeKit session")
    names = [text.index(f"*{n}*") for n in ("Margaret", "Linus", "Grace", "Ada", "Katherine")]
    assert names == sorted(names)  # worst first
    sid = CloudflareEmulator.shared_session_id
    assert f"`cf {sid} " in text and "Whole call" in text
    # The worst participant's lookup in the metadata: follow-ups in the thread are about them.
    assert parent.metadata["event_payload"]["args"][0] == sid
    # The same buttons as a looked-up answer.
    buttons = [
        e["value"] for bl in parent.blocks if bl["type"] == "actions" for e in bl["elements"]
    ]
    assert {"refresh", "audio", "video", "network"} <= set(buttons)
    upload = slack.wait_for(lambda: slack.shared_files(parent.ts))[0]
    assert upload.data.startswith(b"\x89PNG")
    slack.wait_for(lambda: slack.posts(ALERTS, thread_ts=parent.ts))

    # The same delivery again (a provider retry): acknowledged, nothing done.
    replay = hooked.send(delivery)
    assert (replay.status_code, replay.text) == (200, "duplicate: already received")
    # Another event of the same call: the message is updated in place, never posted twice.
    left = hooked.send(
        signed.cloudflare(
            sandbox.servers["cf"].emulator.signer,
            signed.cloudflare_event(sid, "meeting.participantLeft"),
        )
    )
    assert left.status_code == 200
    assert hooked.webhooks.idle(20)
    assert len(alerts(slack)) == 1
    [update] = slack.calls_to("chat.update")
    assert update.args["ts"] == parent.ts and update.args["channel"] == ALERTS
    assert "203.0.113" not in slack.everything_sent()  # participant addresses never posted
    bot_token = hooked.settings.slack_bot_token.get_secret_value()
    for secret in set(hooked.settings.secrets()) - {bot_token}:
        assert secret not in slack.everything_sent()


def test_refused_deliveries_get_401_and_do_nothing(hooked: Hooked, slack, sandbox):
    provider, headers, body = sandbox.webhook("cf")
    forged = {**headers, "rtk-signature": signed.Signer().rsa(body)}  # someone else's key
    unsigned = {k: v for k, v in headers.items() if k != "rtk-signature"}
    tampered_body = body.replace(b"ENDED", b"ENDEDX")
    stale_event = signed.cloudflare_event(CloudflareEmulator.shared_session_id)
    stale_event["meeting"]["endedAt"] = "2020-01-01T00:00:00.000Z"
    stale = signed.cloudflare(sandbox.servers["cf"].emulator.signer, stale_event)
    _, vs_headers, vs_body = sandbox.webhook("videosdk")
    _, st_headers, st_body = sandbox.webhook("stream")
    cases = [
        (provider, forged, body),
        (provider, unsigned, body),
        (provider, headers, tampered_body),
        stale,
        ("videosdk", {**vs_headers, "videosdk-signature": "AAAA"}, vs_body),
        ("stream", {**st_headers, "x-signature": "0" * 64}, st_body),
        ("stream", {k: v for k, v in st_headers.items() if k != "x-signature"}, st_body),
    ]
    for case in cases:
        answer = hooked.send(case)
        assert answer.status_code == 401, (case[0], answer.text)
        assert answer.text.startswith("refused: ")
        assert "Traceback" not in answer.text
    assert hooked.webhooks.idle(5)
    assert alerts(slack) == []
    assert not sandbox.servers["cf"].requests[1:]  # at most the key was fetched


def test_videosdk_compact_json_signature_and_stream_gzip_are_accepted(
    hooked: Hooked, slack, sandbox
):
    signer = sandbox.servers["videosdk"].emulator.signer
    event = signed.videosdk_event(SHARED_SESSION)
    pretty = json.dumps(event, indent=2).encode()  # what arrived on the wire
    headers = {"videosdk-signature": signer.rsa(signed.dumps(event))}  # signed compact
    assert hooked.send(("videosdk", headers, pretty)).status_code == 200
    assert hooked.send(sandbox.webhook("stream", compress=True)).status_code == 200
    assert hooked.webhooks.idle(20)
    posted = {blocks_text(p.blocks).split("\n", 1)[0] for p in alerts(slack)}
    assert len(alerts(slack)) == 2
    assert any(h.startswith("Poor call · VideoSDK session") for h in posted)
    stream_alert = next(p for p in alerts(slack) if "default:turn-tcp" in blocks_text(p.blocks))
    assert "session summary" in blocks_text(stream_alert.blocks)
    # Graded from Stream's summary; the chart in the thread comes from the full lookup.
    assert slack.wait_for(lambda: slack.shared_files(stream_alert.ts))


def test_a_call_below_the_threshold_is_not_posted(hooked: Hooked, slack, sandbox):
    healthy = next(t for _w, t in sandbox.lookups() if t.key == "healthy")
    signer = sandbox.servers["cf"].emulator.signer
    answer = hooked.send(
        signed.cloudflare(signer, signed.cloudflare_event(healthy.uuid("session")))
    )
    assert answer.status_code == 200
    assert hooked.webhooks.idle(20)
    assert alerts(slack) == []
    sessions = [r for r in sandbox.servers["cf"].requests if r.path.endswith("/participants")]
    assert sessions  # it was graded, just not bad enough to post


def test_incomplete_stats_are_retried_after_the_delay(sandbox, slack):
    running = Hooked(sandbox, slack, webhook_retries=2, webhook_retry_s=0.0)
    try:
        assert running.send(sandbox.webhook("cf")).status_code == 200
        assert running.webhooks.idle(30)
    finally:
        running.close()
    sessions = [r for r in sandbox.servers["cf"].requests if r.path.endswith("/participants")]
    assert len(sessions) == 3  # one participant has no stats yet: two more tries, then posted
    assert len(alerts(slack)) == 1


def test_full_queue_answers_503_and_forgets_the_delivery(sandbox, slack):
    running = Hooked(sandbox, slack, webhook_queue_size=1, webhook_delay_s=60.0)
    try:
        assert running.send(sandbox.webhook("cf")).status_code == 200
        other = sandbox.webhook("videosdk")
        for _ in range(2):  # refused, so the provider's retry is not taken for a duplicate
            answer = running.send(other)
            assert (answer.status_code, answer.text) == (503, "busy: retry later")
        # Another event of the waiting call still merges into it.
        again = signed.cloudflare(
            sandbox.servers["cf"].emulator.signer,
            signed.cloudflare_event(
                CloudflareEmulator.shared_session_id, "meeting.participantLeft"
            ),
        )
        assert running.send(again).text == "accepted (merged)"
    finally:
        running.close()
    assert alerts(slack) == []


def test_unknown_routes_and_webhooks_off(hooked: Hooked, sandbox, slack):
    answer = hooked.http.post(f"{hooked.server.url}/webhooks/zoom", content=b"{}")
    assert answer.status_code == 404 and "/webhooks/cloudflare" in answer.text
    assert hooked.http.get(f"{hooked.server.url}/webhooks/stream").status_code == 405
    ignored = signed.stream(
        hooked.settings.stream_api_secret.get_secret_value(), {"type": "call.created"}
    )
    assert hooked.send(ignored).text == "ignored: not an event this bot acts on"
    runtime = Runtime(bot_settings(sandbox, slack))
    app = build_app(runtime.settings, runtime=runtime)
    try:
        with HttpServer(app) as off, httpx.Client() as http:
            answer = http.post(f"{off.url}/webhooks/cloudflare", content=b"{}")
    finally:
        runtime.close()
    assert answer.status_code == 404 and "ALERT_CHANNEL" in answer.text
