"""One answer, from a parsed lookup to messages in Slack: run it on the job runner, then post
the summary (with the thread's metadata), the chart and the details.

Every job catches its own errors: known errors become one sentence for the user, anything
else is logged with a request id and the user gets a short apology carrying the same id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import cards, render
from bot import messages as m
from bot.grading import Grade, Verdict
from bot.jobs import Busy, Job
from bot.lookup import Outcome
from bot.runtime import Runtime, ThreadContext
from bot.slack_retry import rate_limited
from bot.threads import (
    NotInChannel,
    Where,
    bot_files,
    permalink,
    post,
    react,
    remember,
    tell,
    tell_privately,
    upload,
)
from providers.base import Lookup, provider_label
from providers.errors import AuthError, CallQualityError, ConfigError
from providers.models import Listing, Report

WORKING = "eyes"  # the reaction a mention wears while its answer is being worked out
# Errors only whoever runs the bot can fix: shown to the person who asked, not the channel.
ADMIN_ERRORS = (ConfigError, AuthError)

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

    def done() -> None:
        if where.working_ts:
            react(client, where.channel, where.working_ts, WORKING, add=False)

    def on_timeout() -> None:
        log.warning("lookup timed out [%s]", request_id)
        tell(
            client,
            where,
            m.TIMED_OUT.format(
                command=render.code(command), seconds=runtime.settings.lookup_timeout_s
            ),
        )
        done()

    def body(job: Job) -> None:
        try:
            work(job)
        except NotInChannel:
            if job.claim():
                not_in_channel(client, where)
        except ADMIN_ERRORS as err:
            if job.claim():
                tell_privately(client, where, render.error_text(err))
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
        finally:
            if not job.timed_out:
                done()

    if where.working_ts:
        react(client, where.channel, where.working_ts, WORKING)
    try:
        runtime.jobs.submit(body, on_timeout=on_timeout, group=group)
    except Busy:
        log.warning("job queue full; refused [%s]", request_id)
        tell(client, where, m.BUSY)
        done()


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
) -> None:
    """The body of a lookup job: fetch (or reuse), then publish unless the job timed out.
    A slash command's "Looking up…" note then becomes a link to the answer."""
    outcome = runtime.lookup(lookup)
    if not job.claim():
        return
    root = publish(runtime, client, outcome, where, request_id)
    if where.respond is not None:
        link = permalink(client, where.channel, root)
        if link:
            text = m.ANSWERED.format(command=render.code(lookup.command()), link=link)
            where.respond(text=text, response_type="ephemeral", replace_original=True)


def publish(
    runtime: Runtime,
    client: WebClient,
    outcome: Outcome,
    where: Where,
    request_id: str,
) -> str:
    """Post the card (a new parent, or a reply in a mention's thread), then the chart and the
    details in its thread. Returns the thread root's ts."""
    lookup = outcome.lookup
    name = provider_label(lookup.provider)
    if isinstance(outcome.result, Listing):
        meta = render.metadata(lookup, request_id, asked_by=where.user)
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
    meta = render.metadata(lookup, request_id, grade=verdict.grade, asked_by=where.user)
    text, blocks = cards.card(
        report,
        verdict,
        lookup=lookup,
        request_id=request_id,
        settings=runtime.settings,
        asked_by=where.user,
    )
    ts = post(client, where.channel, text, blocks=blocks, thread_ts=where.thread_ts, metadata=meta)
    root = where.thread_ts or ts
    remember(
        runtime, card_context(where.channel, root, ts, lookup, request_id, verdict, where.user)
    )
    post_chart(runtime, client, where.channel, root, outcome, request_id)
    text, blocks = render.details(report, verdict)
    post(client, where.channel, text, blocks=blocks, thread_ts=root)
    return root


def card_context(
    channel: str,
    root: str,
    card_ts: str,
    lookup: Lookup,
    request_id: str,
    verdict: Verdict,
    asked_by: str | None,
) -> ThreadContext:
    """What the card's metadata says, as the thread's context."""
    return ThreadContext(
        channel=channel,
        thread_ts=root,
        provider=lookup.provider,
        args=tuple(lookup.args),
        window=lookup.window_text,
        request_id=request_id,
        card_ts=card_ts,
        grade=verdict.grade.value,
        asked_by=asked_by,
    )


def change_text(old: str | None, verdict: Verdict) -> str:
    """ "was Poor, now Fair", "still Poor", or "now Fair" when the old grade is not known."""
    new = verdict.word
    if old not in {g.value for g in Grade}:
        return m.NOW.format(new=new)
    if old == verdict.grade.value:
        return m.STILL.format(new=new)
    return m.WAS_NOW.format(old=Grade(old).word, new=new)


def update_card(
    runtime: Runtime,
    client: WebClient,
    ctx: ThreadContext,
    lookup: Lookup,
    where: Where,
    request_id: str,
    job: Job,
    *,
    refresh: bool,
) -> None:
    """Refresh, or switch the thread to another window: look up again, then update the card
    in place (chat.update, metadata included), replace its chart, and say what changed."""
    outcome = runtime.lookup(lookup, refresh=refresh)
    if not job.claim():
        return
    report, verdict = outcome.result, outcome.verdict
    if not isinstance(report, Report) or verdict is None:
        post(client, where.channel, m.NO_REPORT_IN_THREAD, thread_ts=ctx.thread_ts)
        return
    moved = lookup.window_text != ctx.window
    change = change_text(ctx.grade, verdict)
    if moved:
        window = render.code(lookup.window_text or "whole call")
        line = m.CHANGE_WINDOW.format(window=window, user=where.user or "someone", change=change)
    else:
        when = cards.slack_date(datetime.now(UTC))
        line = m.CHANGE_REFRESH.format(user=where.user or "someone", when=when, change=change)
    card_ts = ctx.card_ts or ctx.thread_ts
    text, blocks = cards.card(
        report,
        verdict,
        lookup=lookup,
        request_id=request_id,
        settings=runtime.settings,
        asked_by=ctx.asked_by,
        change=line,
    )
    meta = render.metadata(lookup, request_id, grade=verdict.grade, asked_by=ctx.asked_by)
    try:
        client.chat_update(channel=ctx.channel, ts=card_ts, text=text, blocks=blocks, metadata=meta)
    except SlackApiError as exc:
        # The card is gone or can no longer be edited: post the new one in the thread.
        log.warning("card %s not updated (%s) [%s]", card_ts, exc.response.get("error"), request_id)
        card_ts = post(
            client, ctx.channel, text, blocks=blocks, thread_ts=ctx.thread_ts, metadata=meta
        )
    new = card_context(
        ctx.channel, ctx.thread_ts, card_ts, lookup, request_id, verdict, ctx.asked_by
    )
    remember(runtime, new, replace=True)
    name = f"{file_stem(lookup)}.png"
    old = bot_files(client, ctx.channel, ctx.thread_ts, name)
    if post_chart(runtime, client, ctx.channel, ctx.thread_ts, outcome, request_id):
        for file_id in old:
            try:
                client.files_delete(file=file_id)
            except Exception:
                log.info("old chart %s not deleted [%s]", file_id, request_id)
    link = permalink(client, ctx.channel, card_ts) or ""
    post(
        client, ctx.channel, m.CARD_UPDATED.format(change=line, link=link), thread_ts=ctx.thread_ts
    )


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
) -> bool:
    """Draw and upload the chart (of one focus); False when it could not be posted."""
    report, verdict = outcome.result, outcome.verdict
    assert isinstance(report, Report)
    try:
        png = runtime.chart(outcome, focus)
    except Exception:
        log.exception("chart failed [%s]", request_id)
        post(client, channel, m.CHART_FAILED.format(request_id=request_id), thread_ts=root)
        return False
    title, alt = chart_words(report, verdict, focus)
    ok = upload(
        client,
        channel,
        root,
        png,
        filename=f"{file_stem(outcome.lookup)}{suffix}.png",
        title=title,
        alt_txt=alt,
    )
    if not ok:
        post(client, channel, m.UPLOAD_FAILED, thread_ts=root)
    return bool(ok)


def chart_words(report: Report, verdict: Verdict | None, focus: object | None) -> tuple[str, str]:
    """The title and alt text of a chart: of the whole call, or of one focus (`chart loss`),
    whose alt text tells what the verdict found on those panels."""
    from charts import panels

    who = render.who(report)
    headline = verdict.headline if verdict is not None else ""
    if focus is None:
        return m.CHART_TITLE.format(who=who), m.CHART_ALT.format(who=who, headline=headline)
    what = panels.focus_title(str(focus))
    metrics = panels.focus_metrics(str(focus))
    found = [f for f in (verdict.findings if verdict else []) if f.metric in metrics]
    problems = [f.text for f in found if f.is_problem] or [f.text for f in found[:1]]
    said = " ".join(problems[:2]) or headline
    return (
        m.FOCUS_CHART_TITLE.format(what=what, who=who),
        m.FOCUS_CHART_ALT.format(what=what.lower(), who=who, said=said),
    )


def context_lookup(ctx: ThreadContext) -> Lookup:
    """Rebuild the thread's lookup from its metadata (the same words the user typed)."""
    from bot.commands import parse
    from bot.followups import join_words

    parsed = parse(join_words(ctx.provider, ctx.args))
    if not isinstance(parsed, Lookup):
        raise CallQualityError("This thread's lookup could not be read back.")
    return parsed
