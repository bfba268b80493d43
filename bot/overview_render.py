"""A ranked session overview -> Slack text and blocks, and the terminal's text. Pure functions.

One line per participant, worst first: the grade marker, the name, the headline (which leads
with the root cause) and the exact command for the full lookup. Every provider string is
escaped; IP addresses are never read.
"""

from __future__ import annotations

from bot import blocks as b
from bot import render
from bot.grading import Grade, Verdict
from bot.overview import Overview, Ranked
from providers.base import provider_label

MAX_ROWS = 15  # per message: Slack's section limit, and an incident channel's patience
HEADER = "Call quality · {title}"
ALERT_HEADER = "{word} call · {title}"
SOURCE = "Each participant graded from the full lookup of their own stats."
SUMMARY_SOURCE = (
    "Graded from {label}'s session summary (average jitter and latency of each participant "
    "session, no samples over time); a command's full lookup grades what that participant "
    "published over time and can differ."
)
PENDING = "Not graded within {seconds:.0f} s ({n}): run their commands for the full lookup."
SKIPPED = "…and {n} more participants, not graded here."
NOT_GRADED = "not graded: {error}"
NOBODY = "No participants found."


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text)}]}


def _cut(text: str, limit: int = b.SECTION_LIMIT - 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headline_rest(verdict: Verdict) -> str:
    """The headline without its leading grade word ("Poor: ...")."""
    text = verdict.headline.strip()
    for word in (verdict.word, verdict.grade.word):
        if text.lower().startswith(word.lower() + ":"):
            return text[len(word) + 1 :].strip()
    return text


def row_line(item: Ranked, markdown: bool = True) -> str:
    """`<marker> <name> · <Grade>: <headline rest>` and, indented below, the command."""
    from bot.console import mark

    v = item.verdict
    esc = render.escape if markdown else str
    bold = (lambda t: f"*{t}*") if markdown else str
    if v is None:
        marker = ":white_circle:" if markdown else "⚪"
        rest = esc(NOT_GRADED.format(error=item.error))
    else:
        marker = v.emoji if markdown else mark(v)
        limited_good = v.limited_good  # its headline is its own word
        rest = esc(v.headline) if limited_good else f"{bold(v.word)}: {esc(headline_rest(v))}"
    line = f"{marker} {bold(esc(item.name))} · {rest}"
    command = item.command
    if command:
        line += f"\n      {render.code(command) if markdown else command}"
    return line


def notes(overview: Overview) -> list[str]:
    out = []
    if overview.pending:
        out.append(PENDING.format(seconds=overview.budget_s, n=len(overview.pending)))
    if overview.skipped:
        out.append(SKIPPED.format(n=overview.skipped))
    out.extend(overview.listing.notes)
    return out


def blocks(
    overview: Overview,
    *,
    label: str,
    command: str,
    request_id: str,
    alert: bool = False,
) -> tuple[str, render.Blocks]:
    """The parent message for a session: ranked participants, then the whole-call reading."""
    title = overview.listing.title.replace("`", "")
    worst = overview.worst_grade
    header = (
        ALERT_HEADER.format(word=worst.word, title=title) if alert else HEADER.format(title=title)
    )
    lines = [row_line(item) for item in overview.ranked[:MAX_ROWS]]
    lines += [
        f":hourglass: *{render.escape(row.name or row.id)}*"
        + (f"\n      {render.code(row.command)}" if row.command else "")
        for row in overview.pending[: max(0, MAX_ROWS - len(lines))]
    ]
    more = len(overview.ranked) + len(overview.pending) - len(lines)
    if more > 0:
        lines.append(f"…and {more} more.")
    out: render.Blocks = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": header[: b.HEADER_LIMIT], "emoji": True},
        },
        _section("\n".join(lines) if lines else NOBODY),
    ]
    if overview.shared:
        out.append(_section(f"*Whole call*: {render.escape(overview.shared)}"))
    source = SUMMARY_SOURCE.format(label=label) if overview.from_summary else SOURCE
    extra = [source, *notes(overview)]
    out.append(_context(" · ".join(render.escape(n) for n in extra)))
    out.append(_context(render.context_line(label, command, None, request_id)))
    top = overview.ranked[0] if overview.ranked else None
    summary = f"{title}: {len(overview.graded)} graded"
    if top is not None and top.verdict is not None and worst != Grade.UNKNOWN:
        summary += f", worst {top.name} ({top.verdict.word})"
    return render.escape(summary[:300]), out


def text(overview: Overview) -> str:
    """The terminal rendering (`check cf session <id>` and the demo)."""
    lines = [overview.listing.title.replace("`", "")]
    lines += [
        "   " + row_line(item, markdown=False).replace("\n", "\n   ") for item in overview.ranked
    ]
    lines += [f"   ⏳ {row.name or row.id}: {row.command or ''}" for row in overview.pending]
    if overview.shared:
        lines.append(f"   Whole call: {overview.shared}")
    if overview.from_summary:
        lines.append("   " + SUMMARY_SOURCE.format(label=provider_label(overview.listing.provider)))
    lines += [f"   {n}" for n in notes(overview)]
    return "\n".join(lines)
