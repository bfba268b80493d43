"""Block Kit for the bot's messages, built with `slack_sdk.models.blocks`.

Text is never cut mid-sentence: a long text becomes several sections, split at a line break,
else after a sentence, else at a space, each within Slack's per-block limit. A header, whose
limit is small, is shortened at a word and ends with "…".
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

SECTION_LIMIT = 3000  # a section's text
FIELD_LIMIT = 2000  # one section field
CONTEXT_LIMIT = 3000  # one context element
HEADER_LIMIT = 150
BUTTON_LIMIT = 75  # a button's label
MAX_BLOCKS = 50
MAX_FIELDS = 10

Blocks = list[dict[str, Any]]


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word and ended with "…" when too long."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:·-") + "…"


def _cut_at(window: str) -> int:
    """Where to end a piece that must fit in `window`: after its last line break, else after
    its last sentence, else at its last space; 0 when there is none."""
    for sep in ("\n",):
        at = window.rfind(sep)
        if at > 0:
            return at
    at = max(window.rfind(". "), window.rfind("; "), window.rfind(": "))
    if at > 0:
        return at + 1
    return max(window.rfind(" "), 0)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut only between lines, sentences or words."""
    pieces: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        at = _cut_at(rest[: limit + 1]) or limit
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip("\n").removeprefix(" ")
    if rest.strip():
        pieces.append(rest.rstrip())
    return pieces


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def sections(text: str) -> list[SectionBlock]:
    """One section per piece of `text` (mrkdwn)."""
    return [SectionBlock(text=mrkdwn(piece)) for piece in split_text(text)]


def fields(items: list[str]) -> SectionBlock:
    return SectionBlock(fields=[mrkdwn(shorten(t, FIELD_LIMIT)) for t in items[:MAX_FIELDS]])


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(shorten(t, CONTEXT_LIMIT)) for t in texts if t])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=shorten(text, HEADER_LIMIT), emoji=True))


def button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=shorten(label, BUTTON_LIMIT), emoji=True),
        action_id=action_id,
        value=value,
        url=url,
        style=style,
    )


def actions(block_id: str, elements: list[ButtonElement]) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=elements)


def as_dicts(blocks: list[Block]) -> Blocks:
    """The blocks as the JSON Slack takes, at most MAX_BLOCKS of them."""
    return [b.to_dict() for b in blocks[:MAX_BLOCKS]]
