"""The card's buttons and the Compare modal. Each click is acked at once; its word goes down the
same path as the word typed in the thread (`conversation.follow_up`), so a click is answered in
the card's thread, and after a restart the context comes from the card's metadata."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import actions, conversation, followups
from bot import messages as m
from bot.runtime import Runtime, request_id
from bot.threads import Where

log = logging.getLogger("callquality.actions")


def register(app: App, runtime: Runtime) -> None:
    def answer(client: WebClient, context: BoltContext, where: actions.Click, text: str) -> None:
        followup = followups.parse(text)
        if followup is None:
            return
        conversation.follow_up(
            runtime,
            client,
            followup,
            Where(channel=where.channel, thread_ts=where.thread_ts, user=where.user),
            request_id(),
            context.bot_user_id,
            context.bot_id,
            mentioned=True,
        )

    @app.action(actions.WORD_ACTIONS)
    def on_word(ack: Ack, body: dict, action: dict, client: WebClient, context: BoltContext):
        ack()
        where = actions.click(body)
        if where is not None:
            answer(client, context, where, str(action.get("value") or ""))

    @app.action(actions.OPEN)
    def on_open(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; an unacked click shows a warning

    @app.action(actions.COMPARE)
    def on_compare(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        where = actions.click(body)
        if where is None or not body.get("trigger_id"):
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=actions.compare_view(where))
        except SlackApiError as exc:
            log.warning("compare modal not opened: %s", exc.response.get("error"))

    @app.view(actions.COMPARE_VIEW)
    def on_compare_submit(ack: Ack, body: dict, client: WebClient, context: BoltContext):
        where, text = actions.submitted(body)
        if not text.strip():
            ack(response_action="errors", errors={actions.COMPARE_BLOCK: m.COMPARE_EMPTY})
            return
        ack()
        if where is not None:
            answer(client, context, where, f"compare {text.strip()}")
