"""Mentions and thread follow-ups end to end: context from the parent's metadata, dedupe,
chatter ignored."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import CHANNEL, USER, RunningBot, peer
from tests.slack_stub import BOT_ID, BOT_USER_ID, Message, SlackStub

MENTION = f"<@{BOT_USER_ID}>"


def text_of(message: Message) -> str:
    parts = [message.text]
    for block in message.blocks or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(parts)


def answered(slack: SlackStub, thread_ts: str) -> Message:
    """Wait for the first thread reply and settle (nothing else should follow)."""
    return slack.wait_for(lambda: slack.posts(CHANNEL, thread_ts=thread_ts), timeout=15)[-1]


@pytest.fixture
def thread(bot: RunningBot, slack: SlackStub, sandbox) -> str:
    """A finished `/callquality` answer: returns the parent's ts."""
    bot.command(" ".join(peer(sandbox, "receive-loss")))
    slack.wait_for(lambda: slack.shared_files(), timeout=15)
    parent = slack.parents(CHANNEL)[0]
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=parent.ts)) == 1)
    return parent.ts


def ask(bot: RunningBot, slack: SlackStub, thread_ts: str, text: str, **extra) -> str:
    ts = slack.add_user_message(CHANNEL, text, thread_ts=thread_ts)
    resp = bot.event(bot.message(text, ts=ts, thread_ts=thread_ts, **extra))
    assert resp.status_code == 200
    return ts


def replies_after(slack: SlackStub, thread_ts: str, count: int, timeout: float = 15) -> list:
    return slack.wait_for(
        lambda: slack.posts(CHANNEL, thread_ts=thread_ts)[count:] or None,
        timeout=timeout,
    )


def test_follow_up_after_restart_reads_context_from_metadata(bot: RunningBot, slack, thread):
    bot.restart()  # fresh caches: the thread context must come back from Slack
    ask(bot, slack, thread, "video")
    reply = replies_after(slack, thread, 1)[0]
    assert "*Video received*" in reply.text and "frame rate" in reply.text
    assert "Frame rate on receive (video)" in reply.text
    calls = slack.calls_to("conversations.replies")
    assert len(calls) == 1
    assert calls[0].args["ts"] == thread and calls[0].args["include_all_metadata"] in ("1", "true")


def test_duplicate_deliveries_are_answered_once(bot: RunningBot, slack, thread):
    ts = ask(bot, slack, thread, "network")
    # The same message again as a Slack retry, then as an app_mention of the same ts.
    bot.event(bot.message("network", ts=ts, thread_ts=thread), retry_num=1)
    ts2 = slack.add_user_message(CHANNEL, f"{MENTION} device", thread_ts=thread)
    mention = {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": USER,
        "text": f"{MENTION} device",
        "ts": ts2,
        "thread_ts": thread,
    }
    bot.event(mention)
    bot.event(bot.message(f"{MENTION} device", ts=ts2, thread_ts=thread))
    bot.event(mention, retry_num=1)
    replies_after(slack, thread, 2)
    time.sleep(0.5)
    replies = slack.posts(CHANNEL, thread_ts=thread)[1:]
    assert len(replies) == 2, [r.text for r in replies]
    assert "*Media path*: direct (no relay)" in replies[0].text + replies[1].text
    assert "*Browser*: Chrome" in replies[0].text + replies[1].text


def test_chatter_other_bots_and_foreign_threads_are_ignored(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "thanks, looking into it now")
    ask(bot, slack, thread, "video", bot_id="BOTHER01")
    bot.event(
        bot.message("video", ts=slack.next_ts(), thread_ts=thread, user=BOT_USER_ID, bot_id=BOT_ID)
    )
    bot.event(bot.message("video", ts=slack.next_ts()))  # top level, not a thread
    bot.event(bot.message("video", ts=slack.next_ts(), subtype="channel_join"))
    foreign = slack.add_user_message(CHANNEL, "our deploy thread")
    ask(bot, slack, foreign, "video")  # a thread the bot never answered in
    time.sleep(0.8)
    assert len(slack.posts(CHANNEL, thread_ts=thread)) == 1
    assert not slack.posts(CHANNEL, thread_ts=foreign)
    # Only the foreign thread's follow-up word needed a look at the thread.
    assert [c.args["ts"] for c in slack.calls_to("conversations.replies")] == [foreign]


def test_message_replied_shape_is_handled(bot: RunningBot, slack, thread):
    ts = slack.add_user_message(CHANNEL, "device", thread_ts=thread)
    inner = {"type": "message", "user": USER, "text": "device", "ts": ts, "thread_ts": thread}
    bot.event(
        {
            "type": "message",
            "subtype": "message_replied",
            "channel": CHANNEL,
            "hidden": True,
            "message": inner,
            "ts": slack.next_ts(),
        }
    )
    reply = replies_after(slack, thread, 1)[0]
    assert "*OS*: macOS 14.4" in reply.text


def test_mention_answers_in_its_thread_and_follow_ups_work_there(bot: RunningBot, slack, sandbox):
    words = peer(sandbox, "cpu-limited")
    text = f"{MENTION} {' '.join(words)}"
    ts = slack.add_user_message(CHANNEL, text)
    bot.event({"type": "app_mention", "channel": CHANNEL, "user": USER, "text": text, "ts": ts})
    bot.event(bot.message(text, ts=ts))  # the message.channels copy of the same mention
    upload = slack.wait_for(lambda: slack.shared_files(thread_ts=ts), timeout=15)[0]
    summary = slack.posts(CHANNEL, thread_ts=ts)[0]
    assert not slack.parents(CHANNEL)  # everything is in the mention's thread
    assert summary.metadata["event_payload"]["args"] == words[1:]
    assert summary.blocks[1]["text"]["text"].startswith(":red_circle: *Poor*: CPU limitation")
    assert upload.filename.endswith(".png")
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=ts)) == 2)

    bot.restart()
    ask(bot, slack, ts, "chart fps")
    chart = slack.wait_for(
        lambda: len(slack.shared_files(thread_ts=ts)) == 2 and slack.shared_files(thread_ts=ts)[1],
        timeout=15,
    )
    assert chart.filename == f"callquality-cf-{words[1]}-fps.png"
    assert chart.data.startswith(b"\x89PNG")
    assert len(slack.posts(CHANNEL, thread_ts=ts)) == 2  # a chart, no extra message


def test_mention_with_bad_input_answers_in_thread(bot: RunningBot, slack, sandbox):
    text = f"{MENTION} cf nope"
    ts = slack.add_user_message(CHANNEL, text)
    bot.event({"type": "app_mention", "channel": CHANNEL, "user": USER, "text": text, "ts": ts})
    reply = answered(slack, ts)
    assert "`nope` is not a valid peer id" in reply.text
    assert all(not s.requests for s in sandbox.servers.values())


def test_raw_export_has_no_ip_address(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "raw")
    upload = (
        slack.wait_for(lambda: len(slack.shared_files(thread)) == 2, timeout=15)
        and slack.shared_files(thread)[1]
    )
    data = json.loads(upload.data)
    assert upload.filename.endswith(".json")
    assert "ip" not in data["network"] and data["network"]["city"] == "Lisbon"
    assert b"203.0.113.24" not in upload.data


def test_compare_two_participants(bot: RunningBot, slack, sandbox, thread):
    other = peer(sandbox, "healthy")[1]
    ask(bot, slack, thread, f"compare {other}")
    reply = replies_after(slack, thread, 1)[0]
    assert "*Grace*: :red_circle: *Poor*" in reply.text
    assert "*Ada*: :large_green_circle: *Good*" in reply.text
    chart = (
        slack.wait_for(lambda: len(slack.shared_files(thread)) == 2, timeout=15)
        and slack.shared_files(thread)[1]
    )
    assert chart.filename == f"callquality-cf-{peer(sandbox, 'receive-loss')[1]}-vs-{other}.png"


def test_compare_with_another_provider_is_refused(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "compare vs 62d13ccea0f6ac85649d7931 fj9jxhtw")
    reply = replies_after(slack, thread, 1)[0]
    assert "same provider (Cloudflare RealtimeKit)" in reply.text


def test_window_on_a_provider_without_windows_says_so(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "last 10m")
    reply = replies_after(slack, thread, 1)[0]
    assert reply.text == "Cloudflare RealtimeKit lookups do not take a time window."


def test_window_and_refresh_rerun_the_lookup(bot: RunningBot, slack, sandbox):
    words = peer(sandbox, "healthy", provider="stream")
    bot.command(" ".join(words))
    slack.wait_for(lambda: slack.shared_files(), timeout=15)
    root = slack.parents(CHANNEL)[0].ts
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=root)) == 1)
    before = len(sandbox.servers["stream"].requests)
    ask(bot, slack, root, "last 10m")
    summary = replies_after(slack, root, 1)[0]
    assert "window `last 10m`" in text_of(summary)
    assert summary.metadata is None  # the thread keeps its first context
    assert len(sandbox.servers["stream"].requests) > before
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=root)) == 3)

    before = len(sandbox.servers["stream"].requests)
    ask(bot, slack, root, "refresh")
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=root)) == 5, timeout=15)
    assert len(sandbox.servers["stream"].requests) > before


def test_follow_up_reuses_the_cached_result(bot: RunningBot, slack, sandbox, thread):
    before = len(sandbox.servers["cf"].requests)
    ask(bot, slack, thread, "events")
    reply = replies_after(slack, thread, 1)[0]
    assert "reconnect" in reply.text
    assert len(sandbox.servers["cf"].requests) == before


def test_help_follow_up(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "help")
    reply = replies_after(slack, thread, 1)[0]
    assert "`compare <ids>`" in reply.text and "`chart <metric>`" in reply.text
