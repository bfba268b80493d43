"""The card's buttons: one vocabulary with the follow-up words typed in a thread.

Each button's value is the follow-up word it stands for (`refresh`, `audio`, `video`,
`network`, `glossary`), so a click is parsed by `followups.parse` and answered by the same code
as the typed word. Compare opens a small modal asking for the other participant; its
submission becomes `compare <ids>`. "Open in <provider>" is a link button: Slack opens the URL
itself, the bot only acknowledges the click.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from bot import blocks as b
from bot import messages as m
from providers.base import Lookup, provider_label

PREFIX = "callquality_"
OPEN = PREFIX + "open"
COMPARE = PREFIX + "compare"
COMPARE_VIEW = PREFIX + "compare_view"
COMPARE_BLOCK = "other"
COMPARE_INPUT = "ids"
CARD_BLOCK = "callquality_card_actions"
# Every button but the link one: their value is a follow-up word.
WORD_ACTIONS = re.compile(rf"^{PREFIX}(?!open$|compare$)[a-z]+$")


@dataclass(frozen=True)
class Button:
    word: str  # the follow-up word, and the action id after PREFIX
    label: str


BUTTONS = (
    Button("refresh", m.BUTTON_REFRESH),
    Button("audio", m.BUTTON_AUDIO),
    Button("video", m.BUTTON_VIDEO),
    Button("network", m.BUTTON_NETWORK),
    Button("compare", m.BUTTON_COMPARE),
    Button("glossary", m.BUTTON_GLOSSARY),
)


def action_id(word: str) -> str:
    return PREFIX + word


def card_buttons(lookup: Lookup, dashboard: str | None) -> b.ActionsBlock:
    elements = [b.button(x.label, action_id(x.word), value=x.word) for x in BUTTONS]
    if dashboard:
        label = m.BUTTON_OPEN.format(label=provider_label(lookup.provider))
        elements.append(b.button(label, OPEN, url=dashboard))
    return b.actions(CARD_BLOCK, elements)


@dataclass(frozen=True)
class Click:
    """Where a button was clicked: the card's channel, its thread root, who clicked."""

    channel: str
    thread_ts: str
    message_ts: str
    user: str | None


def click(body: dict[str, Any]) -> Click | None:
    """From a block_actions payload; None when it did not come from a message."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    message = body.get("message") or {}
    ts = message.get("ts") or (body.get("container") or {}).get("message_ts")
    if not channel or not ts:
        return None
    root = message.get("thread_ts") or (body.get("container") or {}).get("thread_ts") or ts
    return Click(channel, root, ts, (body.get("user") or {}).get("id"))


def compare_view(where: Click) -> View:
    """The modal asking for the other participant; the thread travels in private_metadata."""
    meta = {"channel": where.channel, "thread_ts": where.thread_ts, "ts": where.message_ts}
    return View(
        type="modal",
        callback_id=COMPARE_VIEW,
        title=PlainTextObject(text=m.COMPARE_TITLE),
        submit=PlainTextObject(text=m.COMPARE_SUBMIT),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(meta),
        blocks=[
            InputBlock(
                block_id=COMPARE_BLOCK,
                label=PlainTextObject(text=m.COMPARE_LABEL),
                hint=PlainTextObject(text=m.COMPARE_HINT),
                element=PlainTextInputElement(
                    action_id=COMPARE_INPUT,
                    placeholder=PlainTextObject(text=m.COMPARE_PLACEHOLDER),
                    max_length=300,
                ),
            )
        ],
    )


def submitted(body: dict[str, Any]) -> tuple[Click | None, str]:
    """The thread and the typed ids of a Compare submission."""
    view = body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    values = (view.get("state") or {}).get("values") or {}
    text = ((values.get(COMPARE_BLOCK) or {}).get(COMPARE_INPUT) or {}).get("value") or ""
    user = (body.get("user") or {}).get("id")
    if not meta.get("channel") or not meta.get("thread_ts"):
        return None, text
    return Click(meta["channel"], meta["thread_ts"], meta.get("ts") or "", user), text
