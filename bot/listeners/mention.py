"""`@callquality cf <peer_id>` in a channel, or a follow-up with a mention in a bot thread."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import conversation
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_mention")
    def on_mention(event: dict, context: BoltContext, client: WebClient) -> None:
        conversation.handle(
            runtime,
            client,
            event,
            bot_user_id=context.bot_user_id,
            bot_id=context.bot_id,
            mentioned=True,
        )
