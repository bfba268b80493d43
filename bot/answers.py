"""One answer, from a parsed lookup to messages in Slack: run it on the job runner, then post
the summary (with the thread's metadata), the chart and the details.

Every job catches its own errors: known errors become one sentence for the user, anything
else is logged with a request id and the user gets a short apology carrying the same id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from slack_sdk import WebClient

from bot import messages as m
from bot import render
from bot.jobs import Busy, Job
from bot.lookup import Outcome
from bot.runtime import Runtime, ThreadContext
from bot.slack_retry import rate_limited
from bot.threads import NotInChannel, Where, post, remember, tell, upload
from providers.base import Lookup, provider_label
from providers.errors import CallQualityError
from providers.models import Listing, Report

log = logging.getLogger("callquality.answers")


def safe_id(lookup: Lookup) -> str:
    last = lookup.ids[-1][1] if lookup.ids else "call"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", last)[:80]


def file_stem(lookup: Lookup) -> str:
    return f"callquality-{lookup.provider}-{safe_id(lookup)}"


def submit(
    runtime: Runtime,
    client: WebClient,
    where: Where,
    request_id: str,
    command: str,
    work: Callable[[Job], None],
    *,
    group: str | None = None,
) -> None:
    """Run `work` on the job runner with the shared error handling. `group` (the provider)
    bounds how many such jobs run at once."""

    def on_timeout() -> None:
        log.warning("lookup timed out [%s]", request_id)
        tell(
            client,
            where,
            m.TIMED_OUT.format(
                command=render.code(command), seconds=runtime.settings.lookup_timeout_s
            ),
        )

    def body(job: Job) -> None:
        try:
            work(job)
        except NotInChannel:
            if job.claim():
                not_in_channel(client, where)
        except CallQualityError as err:
            if job.claim():
                tell(client, where, render.error_text(err))
        except Exception as exc:
            if rate_limited(exc):
                log.warning("Slack kept rate limiting the answer [%s]", request_id)
                text = m.SLACK_RATE_LIMITED.format(command=render.code(command))
            else:
                log.exception("answer failed [%s]", request_id)
                text = m.APOLOGY.format(command=render.code(command), request_id=request_id)
            if job.claim():
                try:
                    tell(client, where, text)
                except Exception:  # the same limit on the way back: the log has it
                    log.warning("could not tell the user either [%s]", request_id)

    try:
        runtime.jobs.submit(body, on_timeout=on_timeout, group=group)
    except Busy:
        log.warning("job queue full; refused [%s]", request_id)
        tell(client, where, m.BUSY)


def not_in_channel(client: WebClient, where: Where) -> None:
    if where.respond is not None:
        tell(client, where, m.NOT_IN_CHANNEL.format(bot=m.BOT_NAME))
    else:
        log.warning("cannot post in channel %s: the bot is not a member", where.channel)


def start(
    runtime: Runtime,
    client: WebClient,
    lookup: Lookup,
    where: Where,
    request_id: str,
) -> None:
    """Look up on the job runner and post the full answer (summary, chart, details)."""
    submit(
        runtime,
        client,
        where,
        request_id,
        lookup.command(),
        lambda job: deliver(runtime, client, lookup, where, request_id, job),
        group=lookup.provider,
    )


def deliver(
    runtime: Runtime,
    client: WebClient,
    lookup: Lookup,
    where: Where,
    request_id: str,
    job: Job,
    *,
    refresh: bool = False,
    with_metadata: bool = True,
) -> None:
    """The body of a lookup job: fetch (or reuse), then publish unless the job timed out."""
    outcome = runtime.lookup(lookup, refresh=refresh)
    if job.claim():
        publish(runtime, client, outcome, where, request_id, with_metadata=with_metadata)


def publish(
    runtime: Runtime,
    client: WebClient,
    outcome: Outcome,
    where: Where,
    request_id: str,
    *,
    with_metadata: bool = True,
) -> str:
    """Post the summary (a new parent, or a reply when `where.thread_ts` is set), then the chart
    and the details in its thread. Returns the thread root's ts."""
    lookup = outcome.lookup
    name = provider_label(lookup.provider)
    meta = render.metadata(lookup, request_id) if with_metadata else None
    if isinstance(outcome.result, Listing):
        if outcome.overview is not None:
            from bot import overview_render

            text, blocks = overview_render.blocks(
                outcome.overview, label=name, command=lookup.command(), request_id=request_id
            )
        else:
            text, blocks = render.listing(
                outcome.result, label=name, command=lookup.command(), request_id=request_id
            )
        ts = post(
            client, where.channel, text, blocks=blocks, thread_ts=where.thread_ts, metadata=meta
        )
        return where.thread_ts or ts
    report, verdict = outcome.result, outcome.verdict
    assert isinstance(report, Report) and verdict is not None
    text, blocks = render.summary(
        report,
        verdict,
        label=name,
        command=lookup.command(),
        window_text=lookup.window_text,
        request_id=request_id,
    )
    ts = post(client, where.channel, text, blocks=blocks, thread_ts=where.thread_ts, metadata=meta)
    root = where.thread_ts or ts
    if meta is not None:
        remember(
            runtime,
            ThreadContext(
                channel=where.channel,
                thread_ts=root,
                provider=lookup.provider,
                args=tuple(lookup.args),
                window=lookup.window_text,
                request_id=request_id,
            ),
        )
    post_chart(runtime, client, where.channel, root, outcome, request_id)
    text, blocks = render.details(report, verdict)
    post(client, where.channel, text, blocks=blocks, thread_ts=root)
    return root


def post_chart(
    runtime: Runtime,
    client: WebClient,
    channel: str,
    root: str,
    outcome: Outcome,
    request_id: str,
    *,
    focus: object | None = None,
    suffix: str = "",
) -> None:
    report, verdict = outcome.result, outcome.verdict
    assert isinstance(report, Report)
    who = render.who(report)
    try:
        png = runtime.chart(outcome, focus)
    except Exception:
        log.exception("chart failed [%s]", request_id)
        post(client, channel, m.CHART_FAILED.format(request_id=request_id), thread_ts=root)
        return
    headline = verdict.headline if verdict is not None else ""
    ok = upload(
        client,
        channel,
        root,
        png,
        filename=f"{file_stem(outcome.lookup)}{suffix}.png",
        title=m.CHART_TITLE.format(who=who),
        alt_txt=m.CHART_ALT.format(who=who, headline=headline),
    )
    if not ok:
        post(client, channel, m.UPLOAD_FAILED, thread_ts=root)


def context_lookup(ctx: ThreadContext) -> Lookup:
    """Rebuild the thread's lookup from its metadata (the same words the user typed)."""
    from bot.commands import parse
    from bot.followups import join_words

    parsed = parse(join_words(ctx.provider, ctx.args))
    if not isinstance(parsed, Lookup):
        raise CallQualityError("This thread's lookup could not be read back.")
    return parsed
