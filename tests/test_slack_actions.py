"""The card's buttons, the Compare modal, reactions, private answers and the words of a result
thread, end to end: signed block_actions and view_submission requests into the running app,
the Slack stub, the provider emulators."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CHANNEL, USER, RunningBot, bot_settings, peer
from tests.slack_stub import BOT_USER_ID, SlackStub, blocks_text, buttons
from tests.test_slack_threads import ask, command_thread, mention, replies_after, text_of

ACTION_IDS = [
    "callquality_refresh",
    "callquality_audio",
    "callquality_video",
    "callquality_network",
    "callquality_compare",
    "callquality_glossary",
    "callquality_open",
]


@pytest.fixture
def card(bot: RunningBot, slack: SlackStub, sandbox) -> str:
    """A finished `/callquality` answer for the receive-loss call: the card's ts."""
    return command_thread(bot, slack, peer(sandbox, "receive-loss"))


def test_card_has_the_buttons_and_a_link_to_the_provider(bot, slack, card):
    message = slack.message(CHANNEL, card)
    assert list(buttons(message.blocks)) == ACTION_IDS
    link = buttons(message.blocks)["callquality_open"]
    assert link["url"].startswith("https://dash.cloudflare.com/") and link["url"].endswith(
        "/realtime/kit"
    )
    # A link click is acknowledged (Slack warns about unacked ones) and answers nothing.
    assert bot.click(message, "callquality_open").status_code == 200
    assert len(slack.posts(CHANNEL, thread_ts=card)) == 1


@pytest.mark.parametrize("word", ["audio", "video", "network", "glossary"])
def test_a_button_answers_like_its_word_even_after_a_restart(bot, slack, card, word):
    bot.restart()  # the click must find its context in the card's metadata
    assert bot.click(slack.message(CHANNEL, card), f"callquality_{word}").status_code == 200
    by_button = replies_after(slack, card, 1)[0]
    ask(bot, slack, card, word)
    by_word = replies_after(slack, card, 2)[0]
    assert by_button.thread_ts == card and by_button.text == by_word.text
    assert slack.calls_to("conversations.replies")[0].args["include_all_metadata"] in (
        "1",
        "true",
    )


def test_video_answer_leads_with_the_episodes(bot, slack, card):
    bot.click(slack.message(CHANNEL, card), "callquality_video")
    lines = replies_after(slack, card, 1)[0].text.splitlines()
    assert lines[0].startswith(":red_circle: Packet loss on receive (video) averaged 12 %")
    assert "from 2026-11-20 14:16:30 to 14:19:15 UTC" in lines[0]
    figures = lines.index("*Figures*")
    assert figures > 3 and any("median" in ln for ln in lines[figures:])
    assert not any("median" in ln for ln in lines[:figures])


def test_network_button_shows_location_only_to_who_asked(bot, slack, card):
    bot.click(slack.message(CHANNEL, card), "callquality_network", user="UOTHER01")
    public = replies_after(slack, card, 1)[0]
    assert "*Location*: PT" in public.text and "Lisbon" not in public.text
    assert "Mozilla" not in public.text and "203.0.113.24" not in public.text
    private = slack.wait_for(lambda: slack.ephemerals)[0]
    assert private["user"] == "UOTHER01" and private["thread_ts"] == card
    assert (
        "*Location*: Lisbon" in private["text"] and "*User agent*: Mozilla/5.0" in private["text"]
    )
    assert "203.0.113.24" not in private["text"]


def test_show_location_puts_the_city_in_the_channel(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack, show_location=True), slack)
    try:
        root = command_thread(running, slack, peer(sandbox, "receive-loss"))
        assert "Lisbon, PT" in text_of(slack.message(CHANNEL, root))
        running.click(slack.message(CHANNEL, root), "callquality_network")
        assert "Lisbon" in replies_after(slack, root, 1)[0].text
        assert not slack.ephemerals
    finally:
        running.close()


def test_refresh_button_updates_the_card_and_says_what_changed(bot, slack, sandbox, card):
    bot.restart()
    before = len(sandbox.servers["cf"].requests)
    bot.click(slack.message(CHANNEL, card), "callquality_refresh", user="UOTHER01")
    note = replies_after(slack, card, 1)[0]
    assert note.text.startswith(":arrows_counterclockwise: Refreshed by <@UOTHER01> at <!date^")
    assert ": still Poor." in note.text
    assert len(sandbox.servers["cf"].requests) > before  # asked the provider again
    update = slack.calls_to("chat.update")
    assert len(update) == 1 and update[0].args["ts"] == card
    updated = slack.message(CHANNEL, card)
    assert "still Poor" in blocks_text(updated.blocks)
    assert f"Asked by <@{USER}>" in blocks_text(updated.blocks)  # still who asked first
    assert list(buttons(updated.blocks)) == ACTION_IDS
    slack.wait_for(lambda: len(slack.deleted_files) == 1)
    assert len(slack.shared_files(card)) == 1 and len(slack.parents(CHANNEL)) == 1


def test_refresh_says_was_and_now_when_the_grade_changed(bot, slack, sandbox, card):
    card_message = slack.message(CHANNEL, card)
    # The card as an older answer would have left it: graded Fair.
    card_message.metadata["event_payload"]["grade"] = "fair"
    bot.restart()
    ask(bot, slack, card, "refresh")
    assert "was Fair, now Poor" in replies_after(slack, card, 1)[0].text


def test_compare_button_opens_a_modal_whose_submission_compares(bot, slack, sandbox, card):
    other = peer(sandbox, "healthy")[1]
    assert bot.click(slack.message(CHANNEL, card), "callquality_compare").status_code == 200
    opened = slack.wait_for(lambda: slack.views)[0]
    assert opened["trigger_id"] == "1234.5678.trigger"
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "callquality_compare_view"
    assert view["blocks"][0]["element"]["action_id"] == "ids"

    empty = bot.submit_view(view, {"other": {"ids": {"type": "plain_text_input", "value": " "}}})
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"other": "Type the other participant's ids."},
    }
    resp = bot.submit_view(view, {"other": {"ids": {"type": "plain_text_input", "value": other}}})
    assert resp.status_code == 200
    reply = replies_after(slack, card, 1)[0]
    assert "*Grace*: :red_circle: *Poor*" in reply.text and "*Ada*: " in reply.text
    chart = slack.wait_for(lambda: len(slack.shared_files(card)) == 2 and slack.shared_files(card))
    assert chart[1].alt_txt.startswith("Side-by-side time series of the call quality of Grace")


def test_mention_wears_eyes_while_it_works(bot, slack, sandbox):
    ts = mention(bot, slack, " ".join(peer(sandbox, "healthy")))
    slack.wait_for(lambda: slack.shared_files(thread_ts=ts), timeout=15)
    slack.wait_for(lambda: slack.calls_to("reactions.remove"))
    added, removed = slack.calls_to("reactions.add")[0], slack.calls_to("reactions.remove")[0]
    assert {k: added.args[k] for k in ("channel", "timestamp", "name")} == {
        "channel": CHANNEL,
        "timestamp": ts,
        "name": "eyes",
    }
    assert removed.args == added.args
    assert slack.reactions[(CHANNEL, ts)] == set()


def test_missing_credentials_are_told_only_to_who_asked(sandbox, slack):
    running = RunningBot(bot_settings(sandbox, slack, cloudflare_api_token=None), slack)
    try:
        ts = mention(running, slack, " ".join(peer(sandbox, "healthy")))
        private = slack.wait_for(lambda: slack.ephemerals)[0]
        assert private["user"] == USER and private["thread_ts"] == ts
        assert "CLOUDFLARE_API_TOKEN" in private["text"]
        slack.wait_for(lambda: slack.calls_to("reactions.remove"))
        assert not slack.posts(CHANNEL)  # nothing for the channel to read
    finally:
        running.close()


def test_missing_credentials_in_a_thread_follow_up_are_private(bot, slack, card, sandbox):
    bot.settings = bot_settings(sandbox, slack, cloudflare_api_token=None)
    bot.restart()
    ask(bot, slack, card, "refresh")
    private = slack.wait_for(lambda: slack.ephemerals)[0]
    assert "CLOUDFLARE_API_TOKEN" in private["text"] and private["thread_ts"] == card
    assert len(slack.posts(CHANNEL, thread_ts=card)) == 1


def test_provider_outage_says_when_to_try_again(bot, slack, sandbox):
    sandbox.servers["cf"].emulator.faults.extend([(503, {}, {"errors": []})] * 10)
    bot.command(" ".join(peer(sandbox)))
    reply = slack.wait_for(lambda: slack.responses, timeout=15)[0]
    assert "unavailable" in reply["text"] and "Try again in a few minutes." in reply["text"]


def test_questions_in_a_result_thread_get_help_not_a_provider_error(bot, slack, card):
    ask(bot, slack, card, "what is MOS?")  # no mention needed for a glossary question
    glossary = replies_after(slack, card, 1)[0].text
    assert glossary.startswith("*What the words mean*\n*MOS* (mean opinion score)")
    text = f"<@{BOT_USER_ID}> is this the customer's wifi?"
    ts = slack.add_user_message(CHANNEL, text, thread_ts=card)
    bot.event(
        {"type": "app_mention", "channel": CHANNEL, "user": USER, "text": text, "ts": ts}
        | {"thread_ts": card}
    )
    reply = replies_after(slack, card, 2)[0].text
    assert reply.startswith("I did not understand `is this the customer's wifi?`")
    assert "Unknown provider" not in reply and "`help`" in reply


def test_glossary_button_explains_every_term(bot, slack, card):
    bot.click(slack.message(CHANNEL, card), "callquality_glossary")
    text = replies_after(slack, card, 1)[0].text
    for term in ("*MOS*", "*Jitter*", "*RTT*", "*Send / receive*", "*TURN relay*"):
        assert term in text


def test_slash_help_lists_the_thread_words(bot):
    text = bot.command("help").text
    assert "Usage:" in text and "`compare <ids>`" in text and "buttons on the card" in text


def test_focused_charts_carry_their_own_title_and_alt_text(bot, slack, card):
    ask(bot, slack, card, "chart loss")
    chart = slack.wait_for(lambda: len(slack.shared_files(card)) == 2 and slack.shared_files(card))
    main, loss = chart
    assert main.title == "Call quality of Grace" and main.alt_txt.startswith("Time series")
    assert loss.title == "Packet loss of Grace"
    assert loss.alt_txt.startswith("Time series of the packet loss of Grace: Packet loss on")


@pytest.mark.parametrize("provider", ["cf", "videosdk", "stream"])
@pytest.mark.parametrize("key", ["receive-loss", "turn-tcp", "sparse", "no-stats"])
def test_no_block_text_is_cut_and_every_block_is_within_limits(bot, slack, sandbox, provider, key):
    root = command_thread(bot, slack, peer(sandbox, key, provider))
    for word in ("video", "audio", "events"):
        ask(bot, slack, root, word)
    replies_after(slack, root, 3)
    for message in [slack.message(CHANNEL, root), *slack.posts(CHANNEL, thread_ts=root)]:
        assert len(message.blocks or []) <= 50
        for block in message.blocks or []:
            texts = (
                [block["text"]["text"]] if "text" in block and block["type"] == "section" else []
            )
            texts += [f["text"] for f in block.get("fields", [])]
            for text in texts:
                assert len(text) <= 3000
                # Cut text ends with "…" mid-word; ours ends with a word or a sentence.
                assert not re.search(r"\w…$", text), text[-80:]
    for upload in slack.shared_files(root):
        assert upload.alt_txt


def test_a_card_that_cannot_be_edited_is_posted_again_in_its_thread(bot, slack, card):
    slack.update_error = "cant_update_message"
    ask(bot, slack, card, "refresh")
    new_card = replies_after(slack, card, 1)[0]
    assert list(buttons(new_card.blocks)) == ACTION_IDS
    assert new_card.metadata["event_payload"]["grade"] == "poor"
    note = replies_after(slack, card, 2)[0]
    assert "still Poor" in note.text
    # The thread's next click finds the new card.
    bot.click(new_card, "callquality_audio")
    assert replies_after(slack, card, 3)[0].text.startswith(":red_circle: ")
