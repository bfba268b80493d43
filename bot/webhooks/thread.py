"""The thread under a new alert: the worst participant's chart and details, as under a
looked-up answer, and the thread's context remembered so follow-ups work at once."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot import answers, render
from bot.lookup import Outcome
from bot.runtime import Runtime, ThreadContext
from bot.threads import post, remember


def completer(
    runtime: Runtime, client: WebClient, channel: str
) -> Callable[[str, Outcome, str], None]:
    def complete(ts: str, outcome: Outcome, rid: str) -> None:
        lookup = outcome.lookup
        if outcome.report is not None and not outcome.report.series:
            # Graded from a provider summary: the chart needs the full lookup.
            outcome = runtime.lookup(lookup)
        remember(
            runtime,
            ThreadContext(channel, ts, lookup.provider, tuple(lookup.args), None, rid),
        )
        answers.post_chart(runtime, client, channel, ts, outcome, rid)
        report, verdict = outcome.report, outcome.verdict
        if report is not None and verdict is not None:
            text, blocks = render.details(report, verdict)
            post(client, channel, text, blocks=blocks, thread_ts=ts)

    return complete
