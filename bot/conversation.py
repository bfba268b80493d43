"""Messages addressed to the bot: mentions (`@callquality cf <peer>`) and thread follow-ups.

Both `app_mention` and `message` listeners land here. One message can arrive twice (Slack
retries, or as both event types in any order), so whatever is answered is first claimed in a
TTL set keyed by (channel, ts). Chatter, other bots and our own messages are ignored without a
single API call.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot import answers, commands, followups, render
from bot.runtime import Runtime, request_id
from bot.threads import Where, post, thread_context
from providers.base import InputError, Lookup

log = logging.getLogger("callquality.conversation")


def _message(event: dict[str, Any]) -> dict[str, Any]:
    # `message_replied` carries the message under `event.message`.
    if event.get("subtype") == "message_replied" and isinstance(event.get("message"), dict):
        return event["message"]
    return event


def handle(
    runtime: Runtime,
    client: WebClient,
    event: dict[str, Any],
    *,
    bot_user_id: str | None,
    bot_id: str | None,
    mentioned: bool,
) -> None:
    msg = _message(event)
    channel = event.get("channel") or msg.get("channel")
    ts, thread_ts = msg.get("ts"), msg.get("thread_ts")
    user = msg.get("user")
    if not channel or not ts or not user:
        return
    if msg.get("bot_id") or msg.get("subtype") == "bot_message" or user == bot_user_id:
        return
    text = msg.get("text") or ""
    if not mentioned and bot_user_id and f"<@{bot_user_id}" in text:
        return  # the app_mention delivery of the same message answers it
    in_thread = bool(thread_ts) and thread_ts != ts
    followup = followups.parse(text) if in_thread else None

    if followup is not None:
        if not runtime.seen.add_if_absent((channel, ts)):
            return
        where = Where(channel=channel, thread_ts=thread_ts, user=user)
        rid = request_id()

        def work(job) -> None:
            ctx = thread_context(
                client, runtime, channel, thread_ts, bot_user_id=bot_user_id, bot_id=bot_id
            )
            if ctx is None:
                if mentioned and job.claim():
                    post(client, channel, commands.usage(), thread_ts=thread_ts)
                return
            followups.answer(runtime, client, ctx, followup, where, rid, job)

        answers.submit(runtime, client, where, rid, followup.kind, work)
        return

    if not mentioned:
        return  # chatter
    if not runtime.seen.add_if_absent((channel, ts)):
        return
    root = thread_ts or ts
    where = Where(channel=channel, thread_ts=root, user=user)
    try:
        parsed = commands.parse(followups.strip_mentions(text))
    except InputError as err:
        post(client, channel, render.input_error_text(err), thread_ts=root)
        return
    if not isinstance(parsed, Lookup):
        post(client, channel, commands.usage(parsed.topic), thread_ts=root)
        return
    answers.start(runtime, client, parsed, where, request_id())
