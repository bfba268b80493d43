"""`/callquality` end to end: signed requests into the app under uvicorn, the Slack stub,
the provider emulators."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot import threads
from tests.conftest import BOT_TOKEN, CHANNEL, SIGNING_SECRET, USER, RunningBot, bot_settings, peer
from tests.slack_stub import SlackStub, blocks_text

PNG = b"\x89PNG\r\n\x1a\n"


def test_command_acks_fast_then_posts_verdict_and_chart_in_thread(bot: RunningBot, slack, sandbox):
    words = peer(sandbox, "receive-loss")
    started = time.monotonic()
    resp = bot.command(" ".join(words))
    acked = time.monotonic() - started
    assert resp.status_code == 200
    assert acked < 3.0
    assert resp.text.startswith(":hourglass_flowing_sand: Looking up `cf ")

    upload = slack.wait_for(lambda: slack.shared_files(), timeout=15)[0]
    parent = slack.parents(CHANNEL)[0]
    text = blocks_text(parent.blocks)
    # The grade, the metric and the side at fault come first.
    assert parent.blocks[1]["text"]["text"].startswith(
        ":red_circle: *Poor*: packet loss on receive"
    )
    assert "Grace" in text and "*Location*\nPT" in text
    # City, ISP and user agent stay out of the channel unless SHOW_LOCATION=true.
    assert "Lisbon" not in text and "Mozilla" not in text
    assert f"`{' '.join(words)}`" in text
    assert f"Asked by <@{USER}>" in text and "<!date^" in text
    # Never the participant's address.
    assert "203.0.113.24" not in json.dumps(parent.blocks) + parent.text
    assert parent.metadata == {
        "event_type": "callquality_result",
        "event_payload": {
            "schema": 1,
            "provider": "cf",
            "args": words[1:],
            "window": None,
            "request_id": parent.metadata["event_payload"]["request_id"],
            "grade": "poor",
            "asked_by": USER,
        },
    }
    assert parent.metadata["event_payload"]["request_id"] in text
    # The chart is a PNG shared into the parent's thread.
    assert upload.thread_ts == parent.ts and upload.channel == CHANNEL
    assert upload.data.startswith(PNG) and upload.length == len(upload.data)
    assert upload.filename == f"callquality-cf-{words[1]}.png"
    details = slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=parent.ts))
    assert "All findings" in blocks_text(details[0].blocks)
    # The first thread message says which words and buttons exist.
    assert (
        "`refresh`" in blocks_text(details[0].blocks)
        and "buttons" in details[0].blocks[-1]["elements"][0]["text"]
    )
    # The "Looking up…" note becomes a link to the answer.
    note = slack.wait_for(lambda: slack.responses)[0]
    assert note["replace_original"] is True and note["response_type"] == "ephemeral"
    assert f"/archives/{CHANNEL}/p{parent.ts.replace('.', '')}|open the answer>" in note["text"]


def test_session_is_posted_ranked_worst_first_with_one_command_per_row(
    bot: RunningBot, slack, sandbox
):
    from providers.emulators.cloudflare import CloudflareEmulator

    sid = CloudflareEmulator.shared_session_id
    truths = {t.key: t for _w, t in sandbox.lookups()}
    bot.command(f"cf session {sid}")
    parent = slack.wait_for(lambda: slack.parents(CHANNEL), timeout=10)[0]
    text = blocks_text(parent.blocks)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(":red_circle:"))
    assert lines[first].startswith(":red_circle: *Margaret* · *Poor*: round-trip time")
    assert lines[first + 1] == f"      `cf {sid} {truths['turn-tcp'].uuid('peer')}`"
    order = [text.index(f"*{name}*") for name in ("Margaret", "Grace", "Ada", "Alan")]
    assert order == sorted(order)
    assert ":large_green_circle: *Ada* · *Good*" in text
    assert "Whole call" in text
    assert "203.0.113" not in slack.everything_sent()  # participant addresses are never posted
    assert not slack.shared_files()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Usage: `<provider> <ids...>`"),
        ("help", "e.g. `cf "),
        ("cff 79313258-2c82-5143-bce7-e58cc242dbcf", "Did you mean `cf`?"),
        ("cf not-a-uuid", "is not a valid peer id"),
        ("cf payload", "`payload` is not a valid peer id"),
        ("videosdk onlyone", "VideoSDK needs a session id and a participant id"),
    ],
)
def test_help_and_bad_input_are_answered_in_the_ack(
    bot: RunningBot, slack, sandbox, text, expected
):
    resp = bot.command(text)
    assert resp.status_code == 200, resp.text
    assert expected in resp.text
    bot.idle()
    assert not slack.posts()
    assert all(not s.requests for s in sandbox.servers.values())


def test_user_text_is_escaped_in_answers(bot: RunningBot, slack):
    resp = bot.command("<!channel> 123")
    assert "<!channel>" not in resp.text
    assert "&lt;!channel&gt;" in resp.text


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            (404, {}, {"success": False, "errors": [{"code": 404, "message": "Peer not found"}]}),
            "not found",
        ),
        (
            (401, {}, {"success": False, "errors": [{"code": 10000, "message": "Auth error"}]}),
            "CLOUDFLARE_API_TOKEN",
        ),
        ((429, {"Retry-After": "30"}, {"success": False, "errors": []}), "try again in 30 s"),
    ],
)
def test_provider_errors_become_one_sentence(bot: RunningBot, slack, sandbox, fault, expected):
    sandbox.servers["cf"].emulator.faults.append(fault)
    bot.command(" ".join(peer(sandbox)))
    reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(":warning: ")
    assert expected.lower() in reply["text"].lower()
    assert "Traceback" not in reply["text"] and "\n" not in reply["text"]
    assert not slack.posts()


def test_not_in_channel_answers_with_an_invite_hint(bot: RunningBot, slack, sandbox):
    slack.fail_channels["CPRIVATE1"] = "not_in_channel"
    bot.command(" ".join(peer(sandbox)), channel="CPRIVATE1")
    reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
    assert "/invite @callquality" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert not slack.shared_files()


def test_slack_rate_limit_and_failed_upload_are_retried(
    bot: RunningBot, slack, sandbox, monkeypatch
):
    monkeypatch.setattr(threads, "UPLOAD_BACKOFF_S", 0.01)  # the retry, not the wait, is tested
    slack.rate_limit_once.add("chat.postMessage")
    slack.upload_failures = 1
    bot.command(" ".join(peer(sandbox, "healthy")))
    upload = slack.wait_for(lambda: slack.shared_files(), timeout=15)[0]
    assert upload.data.startswith(PNG)
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses[:2] == [429, 200]
    assert [c.status for c in slack.calls_to("upload")] == [500, 200]
    assert len(slack.parents(CHANNEL)) == 1


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned"])
def test_bad_signatures_are_rejected_and_nothing_is_posted(bot: RunningBot, slack, sandbox, how):
    words = " ".join(peer(sandbox))
    if how == "forged":
        resp = bot.command(words, secret="not-the-signing-secret")
    elif how == "stale":
        resp = bot.command(words, timestamp=int(time.time()) - 600)
    else:
        resp = bot.http.post(
            bot.url,
            content="command=%2Fcallquality&text=cf",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert resp.status_code == 401
    bot.idle()
    assert not slack.posts() and not slack.responses
    assert all(not s.requests for s in sandbox.servers.values())


def test_health_check(bot: RunningBot):
    resp = bot.http.get(bot.server.url + "/healthz")
    assert resp.status_code == 200 and resp.text == "ok"
    assert bot.http.get(bot.server.url + "/nope").status_code == 404


def test_slow_lookup_times_out_with_a_clear_answer(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack, lookup_timeout_s=0.5), slack)
    try:
        sandbox.servers["cf"].emulator.delay_s = 0.8
        running.command(" ".join(peer(sandbox)))
        reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
        assert "took longer than" in reply["text"]
        running.idle()  # the late result came back: it must not be posted after the timeout
        assert not slack.posts()
    finally:
        running.close()


def test_burst_of_slow_lookups_is_acked_in_time_and_all_answered(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack, lookup_workers=16), slack)
    try:
        ids = [w for w, t in sandbox.lookups() if w[0] in ("cf", "videosdk") and len(w) <= 3]
        commands = [" ".join(ids[i % len(ids)]) for i in range(30)]
        for name in ("cf", "videosdk"):
            sandbox.servers[name].emulator.delay_s = 0.5

        def send(text: str) -> tuple[int, float]:
            t0 = time.monotonic()
            resp = running.command(text)
            return resp.status_code, time.monotonic() - t0

        with ThreadPoolExecutor(30) as pool:
            results = list(pool.map(send, commands))
        assert all(status == 200 for status, _ in results)
        assert max(elapsed for _, elapsed in results) < 3.0
        slack.wait_for(lambda: len(slack.parents(CHANNEL)) == 30, timeout=30)
        # No errors, nobody told to retry: each "Looking up…" note became a link.
        slack.wait_for(lambda: len(slack.responses) == 30)
        assert all(r["text"].startswith(":white_check_mark: Answered") for r in slack.responses)
    finally:
        running.close()


@pytest.mark.parametrize("provider", ["cf", "videosdk", "stream"])
def test_no_secret_reaches_slack_or_the_logs(
    bot: RunningBot, slack, sandbox, caplog, provider: str
):
    caplog.set_level(logging.DEBUG)
    server = sandbox.servers[provider]
    server.emulator.faults.append((500, {}, {"errors": []}))
    bot.command(" ".join(peer(sandbox, "turn-tcp", provider)))
    slack.wait_for(lambda: slack.shared_files() or slack.responses, timeout=15)
    files = len(slack.shared_files())
    bot.command(" ".join(peer(sandbox, "healthy", provider)))
    slack.wait_for(lambda: len(slack.shared_files()) > files, timeout=15)
    slack.wait_for(lambda: len(slack.posts()) >= 2 * len(slack.parents()), timeout=15)
    # What the provider client signed or sent as credentials (JWTs, API tokens).
    credentials = {r.headers.get("authorization") or "" for r in server.requests}
    credentials = {c.removeprefix("Bearer ") for c in credentials if c}
    assert credentials
    secrets = [*bot.settings.secrets(), BOT_TOKEN, SIGNING_SECRET, *credentials]
    sent = "\n".join(
        c.text_blob() for c in slack.calls if c.method != "auth.test" and c.method != "upload"
    )
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        # The bot token legitimately travels in the Authorization header, nowhere else.
        assert secret not in sent.replace(f"Bearer {BOT_TOKEN}", ""), secret[:8]
        assert secret not in logged, secret[:8]
    assert "203.0.113.24" not in sent


def test_stub_records_the_authorization_header(bot: RunningBot, slack: SlackStub, sandbox):
    # Guards the test above: the stub does see what the client sends.
    bot.command(" ".join(peer(sandbox, "healthy")))
    slack.wait_for(lambda: slack.parents())
    assert slack.calls_to("chat.postMessage")[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"
