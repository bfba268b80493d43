"""Thread follow-ups without a mention (`video`, `chart loss`, ...), and a catch-all so that
message subtypes we do not handle are acked instead of answered 404 (which Slack retries)."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import conversation
from bot.runtime import Runtime

HANDLED = {"type": "message", "subtype": (None, "thread_broadcast", "message_replied")}


def register(app: App, runtime: Runtime) -> None:
    @app.event(HANDLED)
    def on_message(event: dict, context: BoltContext, client: WebClient) -> None:
        conversation.handle(
            runtime,
            client,
            event,
            bot_user_id=context.bot_user_id,
            bot_id=context.bot_id,
            mentioned=False,
        )

    @app.event("message")
    def ignore_other_messages() -> None:
        pass
