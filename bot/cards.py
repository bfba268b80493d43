"""The parent card of an answer: the grade and the cause in one line, one likely cause, who the
participant was (only what is known), who asked and when the call was, and the buttons.

Pure: a report and its verdict in, (fallback text, blocks) out. The card is posted once and
then updated in place (`chat.update`) by Refresh and window changes, which pass `change`.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from urllib.parse import quote

from slack_sdk.models.blocks import Block

from bot import actions
from bot import blocks as b
from bot import messages as m
from bot.config import Settings
from bot.grading import Finding, Verdict, root_of
from bot.grading import words as w
from bot.render import code, component, duration_text, escape, split_headline, verdict_line, who
from providers.base import Lookup, provider_label
from providers.models import Report

MAX_ALSO = 4
MAX_UNREPORTED = 6
DASHBOARD_FIELDS = {
    "cf": "cloudflare_dashboard_url",
    "videosdk": "videosdk_dashboard_url",
    "stream": "stream_dashboard_url",
}


def slack_date(moment: datetime) -> str:
    """A Slack date token: each reader sees it in their own time zone."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def call_start(report: Report) -> datetime | None:
    if report.participant.joined_at is not None:
        return report.participant.joined_at
    rng = report.time_range()
    return datetime.fromtimestamp(rng[0], UTC) if rng else None


def _problems(verdict: Verdict) -> list[Finding]:
    return [f for f in verdict.findings if f.is_problem]


def cause_lines(verdict: Verdict) -> list[str]:
    """At most one likely cause, then the other components that were affected (no figures)."""
    problems = _problems(verdict)
    if not problems:
        return []
    lines = []
    root = root_of(problems[0])
    cause = root.cause or problems[0].cause
    if cause:
        lines.append(escape(w.caused(cause).strip()))
    shown = {component(problems[0]), component(root)}
    also = list(dict.fromkeys(component(f) for f in problems if component(f) not in shown))
    if also:
        more = len(also) - MAX_ALSO
        names = ", ".join(also[:MAX_ALSO]) + (m.AND_MORE.format(more=more) if more > 0 else "")
        lines.append(m.ALSO_AFFECTED.format(names=escape(names)))
    return lines


def facts(report: Report, show_location: bool) -> list[str]:
    """Who the participant was, as section fields: only what is known. Never the IP address;
    city, ISP and custom ids only with `show_location`."""
    p, c, n = report.participant, report.client, report.network
    name = escape(who(report))
    if p.user_id and p.user_id != who(report):
        name += f" ({code(p.user_id)})"
    if show_location and p.custom_id and p.custom_id not in (p.user_id, who(report)):
        name += f" · {code(p.custom_id)}"
    os_text = " ".join(x for x in (c.os, c.os_version) if x) or None
    browser = " ".join(x for x in (c.browser, c.browser_version) if x) or None
    sdk = " ".join(x for x in (c.sdk_name, c.sdk_version) if x) or None
    device = _join(c.device, os_text, browser or sdk)
    if c.is_mobile and device and "mobile" not in device.lower():
        device += " (mobile)"
    network = _join(n.network_type, n.org if show_location else None)
    location = _join(n.city if show_location else None, n.country, sep=", ")
    if n.relayed is None and not n.transport:
        path = None
    else:
        relay = {True: m.RELAYED, False: m.DIRECT, None: None}[n.relayed]
        path = _join(relay, n.transport.upper() if n.transport else None)
    # The call's date and time are on the context line, as a Slack date token.
    joined = duration_text(p.duration_s)
    rows = [
        (m.FIELD_NAME, name),
        (m.FIELD_DEVICE, device),
        (m.FIELD_NETWORK, network),
        (m.FIELD_LOCATION, location),
        (m.FIELD_PATH, path),
        (m.FIELD_TIME, joined),
    ]
    return [f"{label}\n{value}" for label, value in rows if value]


def _join(*parts: object, sep: str = " · ") -> str | None:
    got = [escape(p) for p in parts if p not in (None, "")]
    return sep.join(got) if got else None


def unreported_line(report: Report, verdict: Verdict) -> str | None:
    """What the provider cannot report, in one short line."""
    items = list(dict.fromkeys([*report.missing, *verdict.unknown]))
    if not items:
        return None
    more = len(items) - MAX_UNREPORTED
    names = ", ".join(items[:MAX_UNREPORTED]) + (m.AND_MORE.format(more=more) if more > 0 else "")
    return m.NOT_REPORTED.format(label=escape(provider_label(report.provider)), names=escape(names))


def context_line(
    report: Report | None,
    lookup: Lookup,
    request_id: str,
    asked_by: str | None,
) -> str:
    parts = []
    if asked_by:
        parts.append(m.ASKED_BY.format(user=asked_by))
    parts.append(escape(provider_label(lookup.provider)))
    start = call_start(report) if report is not None else None
    if start is not None:
        parts.append(m.CALL_AT.format(date=slack_date(start)))
    parts.append(code(lookup.command()))
    if lookup.window_text and lookup.window_text not in lookup.command():
        parts.append(m.WINDOW.format(window=code(lookup.window_text)))
    parts.append(m.REQUEST.format(request_id=request_id))
    return " · ".join(parts)


def dashboard_url(settings: Settings, report: Report | None, lookup: Lookup) -> str | None:
    """The provider's page for this participant, from its URL template; None when the
    template needs an id this lookup does not have."""
    field = DASHBOARD_FIELDS.get(lookup.provider)
    template = getattr(settings, field, None) if field else None
    if not template:
        return None
    ids = {**lookup.id_map, **(report.ids if report is not None else {})}
    values = {
        "account_id": settings.cloudflare_account_id,
        "app_id": settings.realtimekit_app_id,
        "session_id": ids.get("session_id") or ids.get("session"),
        "peer_id": ids.get("peer_id"),
        "participant_id": ids.get("participant_id") or ids.get("participant") or ids.get("peer_id"),
        "call_type": ids.get("call_type"),
        "call_id": ids.get("call_id"),
        "user_id": ids.get("user_id"),
    }
    if report is not None and not values["session_id"]:
        values["session_id"] = report.participant.session_id
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError:
        return None
    if any(not values.get(name) for name in names):
        return None
    url = template.format(**{k: quote(str(v), safe="") for k, v in values.items() if v})
    return url if url.startswith(("https://", "http://")) and len(url) <= 3000 else None


def card(
    report: Report,
    verdict: Verdict,
    *,
    lookup: Lookup,
    request_id: str,
    settings: Settings,
    asked_by: str | None = None,
    change: str | None = None,
) -> tuple[str, b.Blocks]:
    """The parent message: grade and cause, one likely cause, who, context, buttons."""
    person = who(report)
    unreported = unreported_line(report, verdict)
    lines = [verdict_line(verdict, short=unreported is not None), *cause_lines(verdict)]
    out: list[Block] = [b.header(m.HEADER.format(who=person)), *b.sections("\n".join(lines))]
    if change:
        out.append(b.context(change))
    shown = facts(report, settings.show_location)
    if shown:
        out.append(b.fields(shown))
    if unreported:
        out.append(b.context(unreported))
    out.append(b.context(context_line(report, lookup, request_id, asked_by)))
    out.append(actions.card_buttons(lookup, dashboard_url(settings, report, lookup)))
    text = f"{verdict.word}: {split_headline(verdict)} ({person})"
    if verdict.limited_good:
        text = f"{verdict.headline} ({person})"
    return escape(b.shorten(text, 300)), b.as_dicts(out)
