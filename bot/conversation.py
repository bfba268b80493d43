"""Messages addressed to the bot: mentions (`@callquality cf <peer>`) and thread follow-ups.

Both `app_mention` and `message` listeners land here. One message can arrive twice (Slack
retries, or as both event types in any order), so whatever is answered is first claimed by
(channel, ts) in the store (`Runtime.claim`), which a restart or another replica shares.
Chatter, other bots and our own messages are ignored without a single API call. Nothing
raises out of here: a mention has no response_url, so when the bot cannot post in the channel
it can only log; any other failure is logged with a request id and answered with an apology
carrying the same id.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot import answers, commands, followups, render
from bot import messages as m
from bot.runtime import Runtime, request_id
from bot.threads import NotInChannel, Where, post, tell, thread_context
from providers.base import Lookup, provider_words
from providers.errors import InputError

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
    raw = msg.get("text") or ""
    if not mentioned and bot_user_id and f"<@{bot_user_id}" in raw:
        return  # the app_mention delivery of the same message answers it
    in_thread = bool(thread_ts) and thread_ts != ts
    text = render.unslack(raw)
    followup = followups.parse(text) if in_thread else None
    if followup is None and not mentioned:
        return  # chatter
    if followup is None and in_thread and not _is_command(text):
        # Addressed to us in a thread but neither a follow-up nor a lookup: `what is this?`
        followup = followups.FollowUp("unknown", tuple(text.split()))
    if not runtime.claim(f"message:{channel}:{ts}"):
        return
    # Follow-ups answer in their thread; a mention at the top level starts one under itself.
    where = Where(
        channel=channel, thread_ts=thread_ts or ts, user=user, working_ts=ts if mentioned else None
    )
    rid = request_id()
    try:
        if followup is not None:
            follow_up(runtime, client, followup, where, rid, bot_user_id, bot_id, mentioned)
        else:
            _lookup(runtime, client, text, where, rid)
    except NotInChannel:
        answers.not_in_channel(client, where)
    except Exception:
        log.exception("answering a message failed [%s]", rid)
        try:
            apology = m.APOLOGY.format(command=render.code(f"@{m.BOT_NAME}"), request_id=rid)
            tell(client, where, apology)
        except Exception:
            log.exception("could not post the apology [%s]", rid)


def _is_command(text: str) -> bool:
    """Whether a mention's text starts like a lookup (a provider word, or `help`)."""
    first = text.split()[0].lower() if text.split() else ""
    return first in provider_words() or first in ("help", "usage", "-h", "--help")


def follow_up(
    runtime: Runtime,
    client: WebClient,
    followup: followups.FollowUp,
    where: Where,
    rid: str,
    bot_user_id: str | None,
    bot_id: str | None,
    mentioned: bool,
) -> None:
    channel, thread_ts = where.channel, where.thread_ts
    assert thread_ts is not None

    def work(job) -> None:
        ctx = thread_context(
            client, runtime, channel, thread_ts, bot_user_id=bot_user_id, bot_id=bot_id
        )
        if ctx is None:
            if mentioned and job.claim():
                post(client, channel, commands.usage(), thread_ts=thread_ts)
            return
        followups.answer(runtime, client, ctx, followup, where, rid, job)

    # The provider's job limit applies when the thread's lookup is known already (it usually
    # is: we posted it); otherwise it is read from Slack inside the job.
    known = runtime.threads.get((channel, thread_ts))
    group = known.provider if known is not None else None
    answers.submit(runtime, client, where, rid, followup.kind, work, group=group)


def _lookup(runtime: Runtime, client: WebClient, text: str, where: Where, rid: str) -> None:
    """A mention with a command (`@callquality cf <peer_id>`): answered in its thread."""
    try:
        parsed = commands.parse(text)
    except InputError as err:
        post(client, where.channel, render.input_error_text(err), thread_ts=where.thread_ts)
        return
    if not isinstance(parsed, Lookup):
        post(client, where.channel, commands.usage(parsed.topic), thread_ts=where.thread_ts)
        return
    answers.start(runtime, client, parsed, where, rid)
