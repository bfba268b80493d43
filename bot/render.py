"""Verdicts, reports, listings and errors -> Slack text and Block Kit dicts. Pure functions.

Every string that came from a user or a provider goes through `escape` (or `code` for ids)
before it reaches mrkdwn, so `<!channel>` or a link cannot be injected. `Report.network.ip`
is never read here: participant addresses are not posted to channels.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from bot import messages as m
from bot.grading import Finding, Grade, Verdict, between
from providers.base import Lookup
from providers.errors import CallQualityError, RateLimitedError
from providers.models import LABELS, Direction, Listing, Media, Report

METADATA_EVENT = "callquality_result"
METADATA_SCHEMA = 1
MAX_TOP_FINDINGS = 3
MAX_EVENTS = 20
MAX_LISTING_ROWS = 20
SECTION_LIMIT = 2900  # Slack allows 3000 characters per section text; keep a margin
HEADER_LIMIT = 150

Blocks = list[dict[str, Any]]


# --- text helpers ------------------------------------------------------------------------------


def escape(text: object) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def unslack(text: str) -> str:
    """What a person typed, from the text of a Slack event: mentions removed, a link or an
    address (`<mailto:a@b.com|a@b.com>`, `<https://x|label>`) back to its label or to the bare
    target, and `&amp;` `&lt;` `&gt;` unescaped."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return " "  # a user mention (the bot's own, usually) is not a command word
        if label is not None:
            return label
        return target.removeprefix("mailto:")

    text = _MARKUP.sub(plain, text or "")
    return re.sub(r"&(?:amp|lt|gt);", lambda e: _ENTITIES[e.group(0)], text).strip()


def code(text: object) -> str:
    """An id or command in backticks (a backtick inside would end the span early)."""
    return f"`{escape(str(text).replace('`', chr(39)))}`"


def _cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text)}]}


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float | None) -> str | None:
    if seconds is None or seconds < 0:
        return None
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _join(*parts: object, sep: str = " · ") -> str | None:
    got = [escape(p) for p in parts if p not in (None, "")]
    return sep.join(got) if got else None


def who(report: Report) -> str:
    return report.participant_name


def _split_headline(verdict: Verdict) -> str:
    """The headline without a leading "Poor:" (the grade word is shown next to the emoji)."""
    text = verdict.headline.strip()
    word = verdict.grade.word
    for sep in (":", " -", " —", "."):
        if text.lower().startswith(word.lower() + sep):
            return text[len(word) + len(sep) :].strip()
    return text


def verdict_line(verdict: Verdict) -> str:
    if verdict.limited and verdict.grade == Grade.GOOD:
        # "No problem in what Stream reports (...)" is the grade word here: never a green Good.
        lead, _, rest = verdict.headline.partition(": ")
        return f"{verdict.emoji} *{escape(lead)}*" + (f": {escape(rest)}" if rest else "")
    rest = _split_headline(verdict)
    return f"{verdict.emoji} *{verdict.grade.word}*" + (f": {escape(rest)}" if rest else "")


def finding_line(finding: Finding) -> str:
    return f"{finding.grade.emoji} {escape(finding.text)}"


def _component(finding: Finding) -> str:
    """ "packet loss on receive (audio)": what a finding graded, without the figures."""
    label = LABELS.get(finding.metric, finding.metric.replace("_", " "))
    side = f" on {finding.direction.value}" if finding.direction else ""
    media = f" ({finding.media.value.replace('_', ' ')})" if finding.media else ""
    return f"{label}{side}{media}"


def _problems(verdict: Verdict) -> list[Finding]:
    return [f for f in verdict.findings if f.grade in (Grade.POOR, Grade.FAIR)]


def context_line(label: str, command: str, window_text: str | None, request_id: str) -> str:
    window = f" · window {code(window_text)}" if window_text else ""
    return m.CONTEXT.format(
        label=escape(label), command=code(command), window=window, request_id=request_id
    )


# --- participant facts -------------------------------------------------------------------------


def facts(report: Report) -> list[dict[str, str]]:
    """Who the participant was, as Block Kit section fields. Never includes the IP address."""
    p, c, n = report.participant, report.client, report.network
    name = escape(who(report))
    if p.user_id and p.user_id != who(report):
        name += f" ({code(p.user_id)})"
    os_text = " ".join(x for x in (c.os, c.os_version) if x) or None
    browser = " ".join(x for x in (c.browser, c.browser_version) if x) or None
    sdk = " ".join(x for x in (c.sdk_name, c.sdk_version) if x) or None
    device = _join(c.device, os_text, browser or sdk)
    if c.is_mobile and device and "mobile" not in device.lower():
        device += " (mobile)"
    network = _join(n.network_type, n.org)
    location = _join(n.city, n.country, sep=", ")
    if n.relayed is None and not n.transport:
        path = None
    else:
        relay = {True: m.RELAYED, False: m.DIRECT, None: None}[n.relayed]
        path = _join(relay, n.transport.upper() if n.transport else None)
    joined = _join(_when(p.joined_at), _duration(p.duration_s))
    rows = [
        (m.FIELD_NAME, name),
        (m.FIELD_DEVICE, device),
        (m.FIELD_NETWORK, network),
        (m.FIELD_LOCATION, location),
        (m.FIELD_PATH, path),
        (m.FIELD_TIME, joined),
    ]
    return [
        {"type": "mrkdwn", "text": _cut(f"{label}\n{value or m.UNKNOWN_VALUE}", 1900)}
        for label, value in rows
    ]


# --- the result messages -----------------------------------------------------------------------


def summary(
    report: Report,
    verdict: Verdict,
    *,
    label: str,
    command: str,
    window_text: str | None,
    request_id: str,
) -> tuple[str, Blocks]:
    """The parent message: grade and cause first, then who, then where the data came from."""
    person = who(report)
    header = _cut(m.HEADER.format(who=person), HEADER_LIMIT)
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        _section(verdict_line(verdict)),
    ]
    problems = _problems(verdict)[:MAX_TOP_FINDINGS]
    if problems:
        blocks.append(_section("\n".join(finding_line(f) for f in problems)))
    elif verdict.grade == Grade.UNKNOWN and verdict.unknown:
        unknown = "\n".join(f"• {escape(u)}" for u in verdict.unknown[:5])
        blocks.append(_section(f"{m.UNKNOWN}\n{unknown}"))
    blocks.append({"type": "section", "fields": facts(report)})
    blocks.append(_context(context_line(label, command, window_text, request_id)))
    text = f"{verdict.word}: {_split_headline(verdict)} ({person})"
    if verdict.limited and verdict.grade == Grade.GOOD:
        text = f"{verdict.headline} ({person})"
    return escape(_cut(text, 300)), blocks


def details(report: Report, verdict: Verdict) -> tuple[str, Blocks]:
    """The thread reply under the parent: every finding, what is unknown, events."""
    # Problems in full; the components that stayed good in one line, so the problems are not
    # pushed past Slack's section limit by a long list of good news.
    problems = [f for f in verdict.findings if f.grade != Grade.GOOD]
    good = [f for f in verdict.findings if f.grade == Grade.GOOD]
    lines = [finding_line(f) for f in problems]
    if good:
        names = ", ".join(dict.fromkeys(_component(f) for f in good))
        lines.append(f"{Grade.GOOD.emoji} {m.STAYED_GOOD.format(names=escape(names))}")
    blocks: Blocks = [_section(m.ALL_FINDINGS + "\n" + "\n".join(lines or [m.NO_FINDINGS]))]
    unknown = list(dict.fromkeys([*verdict.unknown, *report.missing]))
    if unknown:
        blocks.append(_section(m.UNKNOWN + "\n" + "\n".join(f"• {escape(u)}" for u in unknown)))
    blocks.append(_section(m.EVENTS + "\n" + events_text(report)))
    if report.notes:
        blocks.append(_section(m.NOTES + "\n" + "\n".join(f"• {escape(n)}" for n in report.notes)))
    return m.DETAILS_TITLE.format(who=escape(who(report))), blocks


def events_text(report: Report) -> str:
    if not report.events:
        return m.NO_EVENTS
    events = sorted(report.events, key=lambda e: e.time)
    lines = [
        f"• `{e.time.astimezone(UTC).strftime('%H:%M:%S')}` {escape(e.kind.value)}: "
        f"{escape(e.text)}"
        for e in events[:MAX_EVENTS]
    ]
    if len(events) > MAX_EVENTS:
        lines.append(m.LISTING_MORE.format(more=len(events) - MAX_EVENTS))
    return "\n".join(lines)


def listing(result: Listing, *, label: str, command: str, request_id: str) -> tuple[str, Blocks]:
    """A parent message listing participants (or sessions), each with the command to grade it."""
    # A header is plain text: backticks around ids would show literally.
    plain_title = result.title.replace("`", "")
    title = _cut(m.LISTING_HEADER.format(title=plain_title), HEADER_LIMIT)
    rows = result.rows[:MAX_LISTING_ROWS]
    lines = []
    for row in rows:
        name = f"*{escape(row.name)}*" if row.name else code(row.id)
        bits = _join(_when(row.joined_at), _duration(row.duration_s))
        line = f"• {name}" + (f" · {bits}" if bits else "")
        line += (
            f"\n      {code(row.command)}"
            if row.command
            else (f" {code(row.id)}" if row.name else "")
        )
        lines.append(line)
    total = result.total if result.total is not None else len(result.rows)
    if total > len(rows):
        lines.append(m.LISTING_MORE.format(more=total - len(rows)))
    body = (m.LISTING_PICK + "\n" + "\n".join(lines)) if rows else m.LISTING_EMPTY
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        _section(body),
    ]
    if result.notes:
        blocks.append(_section("\n".join(f"• {escape(n)}" for n in result.notes)))
    blocks.append(_context(context_line(label, command, None, request_id)))
    return escape(_cut(f"{plain_title}: {total} found", 300)), blocks


def metadata(lookup: Lookup, request_id: str) -> dict[str, Any]:
    """Thread context carried by the parent message: the command words, never secrets or IPs."""
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {
            "schema": METADATA_SCHEMA,
            "provider": lookup.provider,
            "args": list(lookup.args),
            "window": lookup.window_text,
            "request_id": request_id,
        },
    }


# --- follow-up answers -------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def media_text(report: Report, verdict: Verdict, media: Media) -> str | None:
    """Per direction p50/p90 of every metric of one media, plus its findings."""
    lines = []
    for direction in (Direction.SEND, Direction.RECEIVE):
        rows = []
        for series in report.find(media=media, direction=direction):
            values = [v for _, v in series.points()]
            if not values:
                continue
            est = " (estimated)" if series.estimated else ""
            rows.append(
                f"  • {escape(series.label)}: median {_number(_percentile(values, 0.5))}, "
                f"p90 {_number(_percentile(values, 0.9))} {escape(series.unit)}{est}"
            )
        if rows:
            lines.append(f"*{media.value.capitalize()} {m.DIRECTION_WORD[direction.value]}*")
            lines.extend(rows)
    found = [f for f in verdict.findings if f.media == media]
    if not lines and not found:
        return None
    if found:
        lines.append("")
        lines.extend(finding_line(f) for f in found)
    return "\n".join(lines)


def _plain(*parts: object, sep: str = " · ") -> str | None:
    got = [str(p) for p in parts if p not in (None, "")]
    return sep.join(got) if got else None


def network_text(report: Report) -> str:
    n = report.network
    kbps = "{:.0f} kbps".format
    rows = [
        ("Type", n.network_type),
        ("Provider", _plain(n.org, f"AS{n.asn}" if n.asn else None)),
        ("Location", _plain(n.city, n.region, n.country, sep=", ")),
        ("Media path", {True: m.RELAYED, False: m.DIRECT, None: None}[n.relayed]),
        ("Transport", n.transport.upper() if n.transport else None),
        ("Candidates", _plain(n.local_candidate_type, n.remote_candidate_type, sep=" → ")),
        (
            "Outgoing bandwidth",
            kbps(n.available_outgoing_kbps) if n.available_outgoing_kbps is not None else None,
        ),
        (
            "Incoming bandwidth",
            kbps(n.available_incoming_kbps) if n.available_incoming_kbps is not None else None,
        ),
    ]
    lines = [f"• *{k}*: {escape(v) if v else m.UNKNOWN_VALUE}" for k, v in rows]
    for series in report.find(media=Media.CONNECTION):
        values = [v for _, v in series.points()]
        if values:
            lines.append(
                f"• *{escape(series.label)}* ({series.direction.value}): median "
                f"{_number(_percentile(values, 0.5))} {escape(series.unit)}"
            )
    return "\n".join(lines)


def device_text(report: Report) -> str:
    c = report.client
    rows = [
        ("Device", c.device),
        ("OS", " ".join(x for x in (c.os, c.os_version) if x) or None),
        ("Browser", " ".join(x for x in (c.browser, c.browser_version) if x) or None),
        ("SDK", " ".join(x for x in (c.sdk_name, c.sdk_version) if x) or None),
        ("Mobile", {True: "yes", False: "no", None: None}[c.is_mobile]),
        ("CPU cores", f"{c.cpus:g}" if c.cpus is not None else None),
    ]
    lines = [f"• *{k}*: {escape(v) if v else m.UNKNOWN_VALUE}" for k, v in rows]
    limited = sorted({lim.reason for lim in report.limitations if lim.reason not in ("none", "")})
    if limited:
        lines.append(f"• *Encoder limited by*: {escape(', '.join(limited))}")
    return "\n".join(lines)


def compare_text(a: tuple[Report, Verdict], b: tuple[Report, Verdict]) -> str:
    lines = []
    for report, verdict in (a, b):
        lines.append(f"*{escape(who(report))}*: {verdict_line(verdict)}")
        lines.extend(f"    {finding_line(f)}" for f in _problems(verdict)[:MAX_TOP_FINDINGS])
    # Whose side it is, in the words a lookup uses for its senders.
    lines.extend(escape(line) for line in between(who(a[0]), a[1], who(b[0]), b[1]))
    return "\n".join(lines)


def error_text(err: CallQualityError) -> str:
    """One sentence for a known error (the message is user-safe by contract)."""
    text = escape(str(err))
    if isinstance(err, RateLimitedError) and "try again" not in text.lower():
        text += m.rate_limited(err.retry_after)
    return m.PROVIDER_ERROR.format(message=text)


def input_error_text(err: CallQualityError) -> str:
    usage = getattr(err, "usage", None)
    # The usage text is our own mrkdwn (backticks, bullets): it is not escaped.
    return m.BAD_INPUT.format(message=escape(str(err))) + (f"\n{usage}" if usage else "")


def raw_json(report: Report) -> bytes:
    """The normalized report for the `raw` follow-up (the model never dumps the IP address)."""
    return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True).encode()
