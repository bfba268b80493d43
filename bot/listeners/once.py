"""Answer each delivery once: Slack retries an event it thinks we missed (`X-Slack-Retry-Num`,
possibly after we restarted, possibly to another replica), and a captured slash command can be
replayed with its valid signature for five minutes. Event ids and trigger ids (unique per
invocation) are claimed in the store before any listener runs; a repeat gets an empty 200."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.response import BoltResponse

from bot import messages as m
from bot.runtime import Runtime

log = logging.getLogger("callquality.once")


def delivery_key(body: dict[str, Any]) -> str | None:
    if body.get("type") == "event_callback" and isinstance(body.get("event_id"), str):
        return "event:" + body["event_id"]
    if "command" in body and isinstance(body.get("trigger_id"), str) and body["trigger_id"]:
        return "trigger:" + body["trigger_id"]
    return None


def register(app: App, runtime: Runtime) -> None:
    @app.middleware
    def answer_once(body: dict[str, Any], next_: Any) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None and not runtime.claim(key):
            log.info(m.REPEATED_DELIVERY.format(kind=key.split(":", 1)[0]))
            return BoltResponse(status=200, body="")
        return next_()
