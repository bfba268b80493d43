"""Mentions and thread follow-ups end to end: context from the parent's metadata, dedupe,
chatter ignored."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta

import pytest

from bot import commands
from providers.stream_windows import iso
from tests.conftest import CHANNEL, USER, RunningBot, peer
from tests.slack_stub import BOT_ID, BOT_USER_ID, Message, SlackStub, blocks_text

MENTION = f"<@{BOT_USER_ID}>"


def text_of(message: Message) -> str:
    return message.text + "\n" + blocks_text(message.blocks)


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
    bot.idle()
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
    bot.idle()
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
    assert "ip" not in data["network"] and data["network"]["country"] == "PT"
    assert b"203.0.113.24" not in upload.data
    # The file is shared in the channel: no city, ISP or user agent without SHOW_LOCATION.
    assert b"Lisbon" not in upload.data and b"Mozilla" not in upload.data


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


@pytest.mark.parametrize(
    "text", ["last 10m", "window 2026-11-20T14:00:00Z 2026-11-20T14:05:00Z", "window nope"]
)
def test_window_on_a_provider_without_windows_says_so(bot: RunningBot, slack, thread, text):
    ask(bot, slack, thread, text)
    reply = replies_after(slack, thread, 1)[0]
    assert reply.text == "Cloudflare RealtimeKit lookups do not take a time window."


def command_thread(bot: RunningBot, slack: SlackStub, words: list[str]) -> str:
    """A finished `/callquality <words>` answer: returns the parent's ts."""
    bot.command(" ".join(words))
    slack.wait_for(lambda: slack.shared_files(), timeout=15)
    root = slack.parents(CHANNEL)[0].ts
    slack.wait_for(lambda: len(slack.posts(CHANNEL, thread_ts=root)) == 1)
    return root


def track_windows(sandbox, since: int) -> list[tuple[datetime, datetime]]:
    """The (since, until) of every metrics request the Stream emulator got after `since`."""
    out = []
    for req in sandbox.servers["stream"].requests[since:]:
        if req.path.endswith("/details/track") and req.param("since"):
            out.append(
                (
                    datetime.fromisoformat(req.param("since")),
                    datetime.fromisoformat(req.param("until")),
                )
            )
    return out


def test_window_and_refresh_update_the_card_in_place(bot: RunningBot, slack, sandbox):
    words = peer(sandbox, "healthy", provider="stream")
    root = command_thread(bot, slack, words)
    first_chart = slack.shared_files(root)[0]
    before = len(sandbox.servers["stream"].requests)
    # The sandbox call lasts 5 minutes: a shorter `last` shows the window is really applied.
    ask(bot, slack, root, "last 2m")
    note = replies_after(slack, root, 1)[0]
    assert note.text.startswith(":arrows_counterclockwise: Window `last 2m`")
    assert "still No problem seen" in note.text and "The card>" in note.text
    update = slack.calls_to("chat.update")[0]
    assert update.args["ts"] == root
    card = slack.message(CHANNEL, root)
    assert card.edits == 1 and " last 2m` · request" in text_of(card)
    assert card.metadata["event_payload"]["window"] == "last 2m"  # the thread follows the card
    assert len(slack.parents(CHANNEL)) == 1
    windows = track_windows(sandbox, before)
    assert windows
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    assert abs((end - start) - timedelta(minutes=2)) <= timedelta(milliseconds=2)
    # The chart is replaced, not added to.
    slack.wait_for(lambda: first_chart.file_id in slack.deleted_files)
    assert len(slack.shared_files(root)) == 1

    before = len(sandbox.servers["stream"].requests)
    ask(bot, slack, root, "refresh")
    note = replies_after(slack, root, 2)[0]
    assert note.text.startswith(f":arrows_counterclockwise: Refreshed by <@{USER}> at <!date^")
    assert len(sandbox.servers["stream"].requests) > before
    assert slack.message(CHANNEL, root).edits == 2
    assert len(slack.calls_to("chat.update")) == 2 and len(slack.parents(CHANNEL)) == 1
    # A refresh keeps the window the thread is on now.
    assert " last 2m` · request" in text_of(slack.message(CHANNEL, root))
    slack.wait_for(lambda: len(slack.deleted_files) == 2)
    assert len(slack.shared_files(root)) == 1


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
    assert "the card and its chart switch to that window" in reply.text
    assert "`glossary`" in reply.text and "buttons on the card" in reply.text


@pytest.mark.parametrize(("key", "form"), [("healthy", 3), ("turn-tcp", 5)])
def test_window_from_to_in_a_stream_thread(bot: RunningBot, slack, sandbox, key, form):
    words = peer(sandbox, key, provider="stream")
    assert len(words) == form  # the short form, then the full one
    truth = next(t for w, t in sandbox.lookups() if w == words)
    root = command_thread(bot, slack, words)
    since, until = truth.start + timedelta(seconds=60), truth.start + timedelta(seconds=150)
    before = len(sandbox.servers["stream"].requests)
    ask(bot, slack, root, f"window {iso(since)} {iso(until)}")
    replies_after(slack, root, 1)
    card = slack.message(CHANNEL, root)
    assert f" since {iso(since)} until {iso(until)}` · request" in text_of(card)
    assert track_windows(sandbox, before) == [(since, until)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("window yesterday today", "That window did not work: `yesterday` is not a time"),
        ("window 2026-11-20T14:00:00Z", "That window did not work: write `last 10m`, or"),
        (
            "window 2026-11-20T14:30:00Z 2026-11-20T14:00:00Z",
            "That window did not work: The window ends before it starts",
        ),
        ("last forever", "That window did not work: `forever` is not a duration"),
    ],
)
def test_bad_window_words_are_answered(bot: RunningBot, slack, sandbox, text, expected):
    root = command_thread(bot, slack, peer(sandbox, "healthy", provider="stream"))
    before = len(sandbox.servers["stream"].requests)
    ask(bot, slack, root, text)
    reply = replies_after(slack, root, 1)[0]
    assert reply.text.startswith(expected), reply.text
    assert len(sandbox.servers["stream"].requests) == before


def chart_words(help_text: str) -> list[str]:
    line = next(ln for ln in help_text.splitlines() if "`chart <metric>`" in ln)
    return re.findall(r"`([a-z]+)`", line.split("(", 1)[1])


def test_every_advertised_chart_is_drawn(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "help")
    words = chart_words(replies_after(slack, thread, 1)[0].text)
    assert {"audio", "video", "network", "loss", "buffer"} <= set(words)
    for n, word in enumerate(words, start=2):
        ask(bot, slack, thread, f"chart {word}")
        upload = slack.wait_for(
            lambda n=n: len(slack.shared_files(thread)) == n and slack.shared_files(thread)[-1],
            timeout=15,
        )
        assert upload.filename.endswith(f"-{word}.png") and upload.data.startswith(b"\x89PNG")
    # Synonyms draw the same panels under the chosen word's name.
    ask(bot, slack, thread, "chart latency")
    upload = slack.wait_for(
        lambda: (
            len(slack.shared_files(thread)) == len(words) + 2 and slack.shared_files(thread)[-1]
        ),
        timeout=15,
    )
    assert upload.filename.endswith("-rtt.png")
    assert len(slack.posts(CHANNEL, thread_ts=thread)) == 2  # the help, no failure


def test_unknown_chart_lists_the_choices(bot: RunningBot, slack, thread):
    ask(bot, slack, thread, "chart width")
    reply = replies_after(slack, thread, 1)[0]
    assert reply.text.startswith("I can't chart `width`. Try one of: `audio`, `video`, ")
    assert "could not be drawn" not in reply.text
    assert len(slack.shared_files(thread)) == 1


def test_compare_within_a_stream_call(bot: RunningBot, slack, sandbox):
    words = peer(sandbox, "healthy", provider="stream")
    root = command_thread(bot, slack, words)
    ask(bot, slack, root, "compare user-host")  # the call's host, by user id alone
    reply = replies_after(slack, root, 1)[0]
    # Stream cannot see the network: never the green Good, its own marker.
    assert (
        "*user-ada*: :ballot_box_with_check: *No problem in what Stream Video reports" in reply.text
    )
    assert "*user-host*: " in reply.text
    chart = slack.wait_for(
        lambda: len(slack.shared_files(root)) == 2 and slack.shared_files(root)[1], timeout=15
    )
    assert chart.filename == "callquality-stream-user-ada-vs-user-host.png"


def test_compare_within_a_videosdk_session(bot: RunningBot, slack, sandbox):
    from providers.emulators.videosdk import SHARED_SESSION, participant_id

    truths = {t.key: t for w, t in sandbox.lookups() if w[0] == "videosdk"}
    first, other = participant_id(truths["receive-loss"]), participant_id(truths["healthy"])
    root = command_thread(bot, slack, ["videosdk", SHARED_SESSION, first])
    ask(bot, slack, root, f"compare {other}")
    reply = replies_after(slack, root, 1)[0]
    assert ":red_circle: *Poor*" in reply.text and ":large_green_circle: *Good*" in reply.text
    chart = slack.wait_for(
        lambda: len(slack.shared_files(root)) == 2 and slack.shared_files(root)[1], timeout=15
    )
    assert chart.filename == f"callquality-videosdk-{first}-vs-{other}.png"


def test_compare_with_bad_ids_says_what_is_wrong(bot: RunningBot, slack, sandbox):
    root = command_thread(bot, slack, peer(sandbox, "healthy", provider="stream"))
    ask(bot, slack, root, "compare bad/user")
    reply = replies_after(slack, root, 1)[0]
    assert reply.text.startswith(":warning: `bad/user` is not a valid user id")


def mention(bot: RunningBot, slack: SlackStub, text: str, channel: str = CHANNEL) -> str:
    text = f"{MENTION} {text}"
    ts = slack.add_user_message(channel, text)
    event = {"type": "app_mention", "channel": channel, "user": USER, "text": text, "ts": ts}
    assert bot.event(event).status_code == 200
    return ts


def test_mention_text_is_unescaped_like_the_slash_command(bot: RunningBot, slack, sandbox):
    # Slack sends an address as a mailto link: the words as typed are looked up.
    bot.command("stream default:healthy ada@example.com")
    by_command = slack.wait_for(lambda: slack.responses, timeout=15)[0]["text"]
    requests = len(sandbox.servers["stream"].requests)
    ts = mention(bot, slack, "stream default:healthy <mailto:ada@example.com|ada@example.com>")
    assert answered(slack, ts).text == by_command
    assert "ada@example.com" in by_command and "mailto" not in by_command
    filters = [r.param("filter_conditions") for r in sandbox.servers["stream"].requests]
    assert filters[requests:] == filters[:requests]  # the same requests, in the same order


def test_mention_where_the_bot_cannot_post_is_logged(bot: RunningBot, slack, caplog):
    caplog.set_level(logging.INFO)
    slack.fail_channels["CPRIVATE1"] = "not_in_channel"
    mention(bot, slack, "cf nope", channel="CPRIVATE1")
    slack.wait_for(lambda: "CPRIVATE1" in caplog.text and "not a member" in caplog.text)
    assert "Failed to run listener" not in caplog.text
    assert not slack.posts()


def test_mention_failures_are_logged_with_a_request_id(bot: RunningBot, slack, caplog):
    caplog.set_level(logging.INFO)
    slack.fail_channels["CBROKEN01"] = "fatal_error"
    mention(bot, slack, "cf nope", channel="CBROKEN01")
    slack.wait_for(lambda: "could not post the apology" in caplog.text)
    assert "Failed to run listener" not in caplog.text
    ids = re.findall(r"\[(cq-[0-9a-f]+)\]", caplog.text)
    assert ids and len(set(ids)) == 1


def test_unexpected_mention_errors_get_an_apology(bot: RunningBot, slack, caplog, monkeypatch):
    caplog.set_level(logging.INFO)

    def broken(text):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(commands, "parse", broken)
    ts = mention(bot, slack, "cf 79313258-2c82-5143-bce7-e58cc242dbcf")
    reply = answered(slack, ts)
    rid = re.search(r"request id `(cq-[0-9a-f]+)`", reply.text).group(1)
    assert reply.text.startswith(":warning: Sorry, something went wrong")
    assert f"answering a message failed [{rid}]" in caplog.text
    assert "Failed to run listener" not in caplog.text
