"""Terminal rendering of a lookup: the text `callquality check` and `demo` print, and the
JSON object of `check --json`. Pure functions."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.grading import Grade, Verdict
from bot.lookup import Outcome
from providers.models import Listing, Report

MARKS = {Grade.GOOD: "🟢", Grade.FAIR: "🟡", Grade.POOR: "🔴", Grade.UNKNOWN: "⚪"}
LIMITED_MARK = "☑️"  # a Good over partial data is never the green circle


def mark(verdict: Verdict) -> str:
    return LIMITED_MARK if verdict.limited_good else MARKS[verdict.grade]


def who(report: Report) -> str:
    """One line: name, device/browser/OS, network, location. Never the IP address."""
    c, n = report.client, report.network
    name = report.participant_name
    software = " ".join(x for x in (c.browser, c.browser_version) if x)
    system = " ".join(x for x in (c.os, c.os_version) if x)
    device = " on ".join(x for x in (software, system) if x)
    if c.device:
        device = f"{c.device}, {device}" if device else c.device
    where = ", ".join(x for x in (n.city, n.country) if x)
    path = []
    if n.network_type:
        path.append(n.network_type)
    if n.path_text():
        path.append(n.path_text())
    parts = [x for x in (device, ", ".join(path), where) if x]
    return f"{name} ({'; '.join(parts)})" if parts else name


def text(outcome: Outcome, chart_path: str | None = None) -> str:
    lookup = outcome.lookup
    if isinstance(outcome.result, Listing):
        if outcome.overview is not None:
            from bot import overview_render

            return overview_render.text(outcome.overview)
        return listing_text(outcome.result)
    report, verdict = outcome.result, outcome.verdict
    assert verdict is not None
    lines = [
        f"{mark(verdict)} {verdict.word.upper()}  {lookup.command()}",
        f"   {who(report)}",
        f"   {verdict.headline}",
    ]
    # Problems first and all of them; the good components only when nothing is wrong.
    problems = [f for f in verdict.findings if f.grade != Grade.GOOD]
    shown = problems or verdict.findings[:4]
    for finding in shown:
        lines.append(f"   - [{finding.grade.value}] {finding.text}")
    hidden = len(verdict.findings) - len(shown)
    if hidden > 0:
        lines.append(f"   (+{hidden} components graded good; --json lists them)")
    if verdict.unknown:
        lines.append(f"   not available: {', '.join(verdict.unknown)}")
    if chart_path:
        lines.append(f"   chart: {chart_path}")
    return "\n".join(lines)


def listing_text(listing: Listing) -> str:
    lines = [f"{listing.title}"]
    for row in listing.rows:
        when = row.joined_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if row.joined_at else ""
        dur = f"{row.duration_s / 60:.1f} min" if row.duration_s is not None else ""
        facts = ", ".join(x for x in (row.name or "", when, dur) if x)
        lines.append(f"   {row.command or row.id}" + (f"   ({facts})" if facts else ""))
    lines.extend(f"   {note}" for note in listing.notes)
    return "\n".join(lines)


def as_json(outcome: Outcome) -> dict[str, Any]:
    """The `check --json` object: at least provider, grade and findings[{metric, grade, text}]."""
    lookup = outcome.lookup
    out: dict[str, Any] = {"provider": lookup.provider, "command": lookup.command()}
    if isinstance(outcome.result, Listing):
        listing = outcome.result.model_dump(mode="json")
        return {**out, "grade": Grade.UNKNOWN.value, "findings": [], "listing": listing}
    report, verdict = outcome.result, outcome.verdict
    assert verdict is not None
    network = report.network.model_dump(mode="json", exclude={"ip"})
    return {
        **out,
        "ids": report.ids,
        **verdict.as_dict(),
        "participant": report.participant.model_dump(mode="json"),
        "client": report.client.model_dump(mode="json", exclude_none=True),
        "network": {k: v for k, v in network.items() if v is not None},
        "missing": report.missing,
        "window": {
            "start": report.window_start.isoformat() if report.window_start else None,
            "end": report.window_end.isoformat() if report.window_end else None,
        },
        "elapsed_s": round(outcome.elapsed_s, 3),
    }
