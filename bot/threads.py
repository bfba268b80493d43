"""Slack I/O for answers: post a parent or a thread reply, upload a file into a thread, and
read a thread's context back from the metadata on our summary message.

Slash commands have no message to thread under, so the summary becomes the parent and
everything else goes under its ts. Mentions thread under the mention itself. Files always
take the thread root's ts (a reply's ts is rejected by files.completeUploadExternal).
"""

from __future__ import annotations

import logging
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.render import METADATA_EVENT, METADATA_SCHEMA
from bot.runtime import Runtime, ThreadContext

log = logging.getLogger("callquality.threads")

NOT_IN_CHANNEL_ERRORS = ("not_in_channel", "channel_not_found", "is_archived")
UPLOAD_ATTEMPTS = 3
UPLOAD_BACKOFF_S = 0.5
REPLIES_PAGE = 50
REPLIES_PAGES = 3


class NotInChannel(Exception):
    """The bot cannot post in the channel (not a member, or the channel is hidden from it)."""


@dataclass
class Where:
    """Where an answer goes. `thread_ts` None means "post a new parent in the channel".
    `respond` (slash commands) is the private channel back to the user who asked."""

    channel: str
    thread_ts: str | None = None
    respond: Respond | None = None
    user: str | None = None
    working_ts: str | None = None  # a message wearing the :eyes: reaction while we work


def _slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "")
    except Exception:
        return ""


def post(
    client: WebClient,
    channel: str,
    text: str,
    *,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> str:
    """chat.postMessage; returns the new message's ts. Raises NotInChannel."""
    kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
    if blocks is not None:
        kwargs["blocks"] = blocks
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    if metadata is not None:
        kwargs["metadata"] = metadata
    try:
        resp = client.chat_postMessage(**kwargs)
    except SlackApiError as exc:
        if _slack_error(exc) in NOT_IN_CHANNEL_ERRORS:
            raise NotInChannel(channel) from None
        raise
    return str(resp["ts"])


def upload(
    client: WebClient,
    channel: str,
    thread_ts: str,
    data: bytes,
    *,
    filename: str,
    title: str,
    alt_txt: str | None = None,
    attempts: int = UPLOAD_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Upload `data` into the thread; the file's id, None when it failed. Retried: the raw
    upload step has no SDK retry handler."""
    kwargs: dict[str, Any] = {
        "channel": channel,
        "thread_ts": thread_ts,
        "file": data,
        "filename": filename,
        "title": title,
    }
    if alt_txt:
        kwargs["alt_txt"] = alt_txt[:1000]
    for attempt in range(attempts):
        if attempt:
            sleep(UPLOAD_BACKOFF_S * 2 ** (attempt - 1))
        try:
            resp = client.files_upload_v2(**kwargs)
            return str((resp.get("file") or {}).get("id") or "") or filename
        except SlackApiError as exc:
            error = _slack_error(exc)
            if error in NOT_IN_CHANNEL_ERRORS:
                raise NotInChannel(channel) from None
            log.warning("upload of %s failed (attempt %d): %s", filename, attempt + 1, error)
        except (SlackClientError, urllib.error.URLError, OSError) as exc:
            log.warning("upload of %s failed (attempt %d): %s", filename, attempt + 1, exc)
    return None


def tell(client: WebClient, where: Where, text: str) -> None:
    """A short message for the person who asked: ephemeral for a slash command (through
    response_url, which works even where the bot is not a member), in the thread otherwise."""
    if where.respond is not None:
        where.respond(text=text, response_type="ephemeral", replace_original=False)
        return
    try:
        post(client, where.channel, text, thread_ts=where.thread_ts)
    except NotInChannel:
        log.warning("cannot post in channel %s: the bot is not a member", where.channel)


def tell_privately(client: WebClient, where: Where, text: str) -> None:
    """A message only the person who asked sees: through response_url for a slash command,
    chat.postEphemeral (in the thread) otherwise; in the thread when nobody is known."""
    if where.respond is not None or not where.user:
        tell(client, where, text)
        return
    kwargs: dict[str, Any] = {"channel": where.channel, "user": where.user, "text": text}
    if where.thread_ts:
        kwargs["thread_ts"] = where.thread_ts
    try:
        client.chat_postEphemeral(**kwargs)
    except SlackApiError as exc:
        log.warning("could not tell %s privately: %s", where.user, _slack_error(exc))


def react(client: WebClient, channel: str, ts: str, name: str, *, add: bool = True) -> None:
    """Add (or take back) a reaction; best effort: a missing scope must not stop an answer."""
    try:
        if add:
            client.reactions_add(channel=channel, timestamp=ts, name=name)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=name)
    except SlackClientError as exc:
        log.info("reaction %s on %s not changed: %s", name, ts, exc)


def permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except (SlackClientError, KeyError) as exc:
        log.info("no permalink for %s: %s", ts, exc)
        return None


def bot_files(client: WebClient, channel: str, thread_ts: str, name: str) -> list[str]:
    """Ids of the files named `name` that the bot shared into the thread."""
    out: list[str] = []
    cursor = None
    for _ in range(REPLIES_PAGES):
        kwargs: dict[str, Any] = {"limit": REPLIES_PAGE}
        if cursor:
            kwargs["cursor"] = cursor
        resp = client.conversations_replies(channel=channel, ts=thread_ts, **kwargs)
        for message in resp.get("messages") or []:
            if not message.get("bot_id"):
                continue
            out += [f["id"] for f in message.get("files") or [] if f.get("name") == name]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return out


def context_from_message(
    message: dict[str, Any], channel: str, thread_ts: str
) -> ThreadContext | None:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return None
    payload = meta.get("event_payload") or {}
    provider, args = payload.get("provider"), payload.get("args")
    if payload.get("schema") != METADATA_SCHEMA or not isinstance(provider, str):
        return None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return None

    def text(key: str) -> str | None:
        value = payload.get(key)
        return value if isinstance(value, str) else None

    return ThreadContext(
        channel=channel,
        thread_ts=thread_ts,
        provider=provider,
        args=tuple(args),
        window=text("window"),
        request_id=text("request_id"),
        card_ts=message.get("ts") if isinstance(message.get("ts"), str) else None,
        grade=text("grade"),
        asked_by=text("asked_by"),
    )


def thread_context(
    client: WebClient,
    runtime: Runtime,
    channel: str,
    thread_ts: str,
    *,
    bot_user_id: str | None,
    bot_id: str | None = None,
) -> ThreadContext | None:
    """The lookup this thread is about: the first message of ours carrying our metadata.
    Cached per (channel, thread_ts); after a restart it is read back from Slack."""
    key = (channel, thread_ts)
    cached = runtime.threads.get(key)
    if cached is not None:
        return cached
    cursor = None
    for _ in range(REPLIES_PAGES):
        kwargs: dict[str, Any] = {"limit": REPLIES_PAGE}
        if cursor:
            kwargs["cursor"] = cursor
        resp = client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, **kwargs
        )
        for message in resp.get("messages") or []:
            ours = (bot_user_id and message.get("user") == bot_user_id) or (
                bot_id and message.get("bot_id") == bot_id
            )
            if not ours:
                continue
            ctx = context_from_message(message, channel, thread_ts)
            if ctx is not None:
                runtime.threads.set(key, ctx)
                return ctx
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return None


def remember(runtime: Runtime, ctx: ThreadContext, *, replace: bool = False) -> None:
    """Prime the context cache when we post a card (the first one in a thread wins), or
    replace it when the card was updated."""
    key = (ctx.channel, ctx.thread_ts)
    if replace or runtime.threads.get(key) is None:
        runtime.threads.set(key, ctx)
