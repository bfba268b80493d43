"""Post a graded call to the alert channel: one message per call, updated in place.

The first post of a call is the ranked overview as a new parent message, carrying the
metadata of its worst participant's lookup (so the thread's follow-ups are about them), with
that participant's chart and details in its thread. A later event of the same call rewrites
that message with `chat.update` instead of posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot import blocks as b
from bot import overview_render, render
from bot.actions import card_buttons
from bot.overview import Overview
from bot.threads import post
from bot.webhooks.store import Messages
from providers.base import Lookup, provider_label

if TYPE_CHECKING:
    from bot.lookup import Outcome

log = logging.getLogger("callquality.webhooks")

MESSAGE_TTL_S = 7 * 24 * 3600.0  # repeats of a call arrive within minutes; a week is plenty


@dataclass
class Alert:
    """What was posted: the channel and ts of the call's message, and whether it is new."""

    channel: str
    ts: str
    new: bool


class SlackAlerts:
    """Posts overviews to `channel` through `client`; `after_first_post(ts, outcome, rid)`
    adds the worst participant's chart and details to a new message's thread."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        messages: Messages,
        after_first_post: Callable[[str, Outcome, str], None] | None = None,
    ):
        self.client = client
        self.channel = channel
        self.messages = messages
        self._after = after_first_post

    def publish(self, call_key: str, overview: Overview, lookup: Lookup, rid: str) -> Alert:
        text, blocks = overview_render.blocks(
            overview,
            label=provider_label(lookup.provider),
            command=lookup.command(),
            request_id=rid,
            alert=True,
        )
        worst = overview.worst
        if worst is not None and worst.lookup is not None:
            # The same buttons as a looked-up answer, about the worst participant (whose lookup
            # is in the message's metadata, so the clicks work after a restart too).
            blocks = [*blocks, *b.as_dicts([card_buttons(worst.lookup, None)])]
        ts = self.messages.get(call_key)
        if ts is not None:
            self.client.chat_update(channel=self.channel, ts=ts, text=text, blocks=blocks)
            return Alert(self.channel, ts, False)
        meta = render.metadata(worst.lookup, rid) if worst and worst.lookup else None
        ts = post(self.client, self.channel, text, blocks=blocks, metadata=meta)
        self.messages.set(call_key, ts, MESSAGE_TTL_S)
        if self._after is not None and worst is not None and worst.outcome is not None:
            try:
                self._after(ts, worst.outcome, rid)
            except Exception:
                log.exception("the alert thread could not be completed [%s]", rid)
        return Alert(self.channel, ts, True)


class ConsoleAlerts:
    """The same decision, printed to a terminal instead of posted (`callquality demo`)."""

    def __init__(self, write: Callable[[str], None] = print):
        self._write = write
        self.posted: dict[str, int] = {}

    def publish(self, call_key: str, overview: Overview, lookup: Lookup, rid: str) -> Alert:
        new = call_key not in self.posted
        self.posted[call_key] = self.posted.get(call_key, 0) + 1
        verb = "would post to ALERT_CHANNEL" if new else "would update its message"
        self._write(f"[{verb}] {overview_render.text(overview)}")
        return Alert("terminal", call_key, new)
