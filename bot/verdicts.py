"""Grade a normalized report: grade(report) -> Verdict.

Every (media, direction, metric) series is graded on its own against the thresholds in
`bot.thresholds`, a bad level counting only when it persists; the overall grade is the worst
component, and the findings come worst first so the first one names what to look at. This module
puts the findings together (`bot.findings`), names their likely causes and writes the headline.

The public names are `grade` and the types it returns, Grade, Finding and Verdict (defined in
`bot.grades`). The threshold constants and media words are re-exported too, for the charts that
draw the same bands and name the same media.
"""

from __future__ import annotations

from bot.emodel import estimated_mos
from bot.findings import (
    limitation_findings,
    relay_finding,
    series_finding,
    summary_findings,
    warning_findings,
)
from bot.grades import Finding, Grade, Verdict
from bot.thresholds import (
    HEIGHT_GOOD_PX,
    JITTER_FAIR_MS,
    JITTER_POOR_MS,
    LOSS_FAIR_PCT,
    LOSS_POOR_PCT,
    MOS_GOOD,
    MOS_POOR,
    RTT_FAIR_MS,
    RTT_POOR_MS,
    SCORE_MAX,
    Graded,
    grade_series,
)
from bot.wording import (
    CAUSE_BOTH,
    CAUSE_DISTANT,
    CAUSE_DOWNLINK,
    CAUSE_UPLINK,
    MEDIA_WORDS,
    SHORT,
    join_words,
    label,
    side,
)
from providers.base import provider_label
from providers.models import Direction, Media, Metric, Report

__all__ = [
    "HEIGHT_GOOD_PX",
    "JITTER_FAIR_MS",
    "JITTER_POOR_MS",
    "LOSS_FAIR_PCT",
    "LOSS_POOR_PCT",
    "MEDIA_WORDS",
    "MOS_GOOD",
    "MOS_POOR",
    "RTT_FAIR_MS",
    "RTT_POOR_MS",
    "SCORE_MAX",
    "Finding",
    "Grade",
    "Verdict",
    "grade",
]

# Finding order within one grade: network causes first, then what they do to the media.
PRIORITY = {
    Metric.LOSS.value: 0,
    Metric.JITTER.value: 1,
    Metric.RTT.value: 2,
    Metric.MOS.value: 3,
    Metric.SCORE.value: 4,
    "quality_limitation": 5,
    Metric.FPS.value: 6,
    Metric.HEIGHT.value: 7,
    Metric.BITRATE.value: 8,
    "relay": 9,
    "warning": 10,
    "unavailable": 11,
}
MEDIA_ORDER = {m: i for i, m in enumerate(Media)}


# --- causes ------------------------------------------------------------------------------------


def _overlaps(f: Finding, others: list[Finding]) -> bool:
    return any(
        o.since is not None
        and f.since is not None
        and o.since <= (f.until or f.since)
        and f.since <= (o.until or o.since)
        for o in others
    )


def _add_causes(findings: list[Finding], relayed: bool) -> None:
    def bad(metric: Metric | str, direction: Direction | None = None, media: Media | None = None):
        return [
            f
            for f in findings
            if f.metric == metric
            and f.grade.rank >= 1
            and (direction is None or f.direction == direction)
            and (media is None or f.media == media)
        ]

    loss_send, loss_recv = bad(Metric.LOSS, Direction.SEND), bad(Metric.LOSS, Direction.RECEIVE)
    limits = bad("quality_limitation")
    for f in findings:
        if f.grade.rank < 1 or f.cause is not None:
            continue
        metric = f.metric
        if metric in (Metric.LOSS, Metric.JITTER):
            if metric == Metric.LOSS and loss_send and loss_recv:
                f.cause = CAUSE_BOTH
            elif f.direction == Direction.SEND:
                f.cause = CAUSE_UPLINK
            else:
                f.cause = CAUSE_DOWNLINK
        elif metric == Metric.RTT:
            same = [
                x
                for x in bad(Metric.LOSS, f.direction) + bad(Metric.JITTER, f.direction)
                if x.grade == Grade.POOR
            ]
            if not same:
                f.cause = "a distant server/region or the TURN relay" if relayed else CAUSE_DISTANT
        elif metric in (Metric.MOS, Metric.SCORE) and f.direction is not None:
            media = f.media or Media.AUDIO
            drivers = [x for m in (Metric.LOSS, Metric.JITTER) for x in bad(m, f.direction, media)]
            # RTT belongs to the path, whichever side measured it (often only the sender does).
            drivers += bad(Metric.RTT)
            if drivers:
                worst = max(drivers, key=lambda x: (x.grade.rank, -PRIORITY[x.metric]))
                where = (
                    side(worst.media, worst.direction) if worst.media and worst.direction else ""
                )
                f.cause = f"the {label(Metric(worst.metric))} {where}".rstrip()
        elif metric in (Metric.FPS, Metric.HEIGHT, Metric.BITRATE):
            if f.direction == Direction.SEND:
                overlapping = [x for x in limits if _overlaps(f, [x])]
                if overlapping:
                    f.cause = overlapping[0].cause
                elif loss_send:
                    f.cause = CAUSE_UPLINK
            elif loss_recv and _overlaps(f, loss_recv):
                f.cause = f"the packet loss on receive: {CAUSE_DOWNLINK}"
        if f.cause and "Likely cause" not in f.text:
            f.text += f" Likely cause: {f.cause}."


# --- the verdict -------------------------------------------------------------------------------


def _sort_key(f: Finding):
    return (
        -f.grade.rank,
        PRIORITY.get(f.metric, 99),
        -(f.duration_s or 0.0),
        MEDIA_ORDER.get(f.media, 99) if f.media else 99,
        0 if f.direction == Direction.RECEIVE else 1,
    )


def grade(report: Report) -> Verdict:
    """Grade one participant's report. Never raises for missing data: what is absent is
    graded UNKNOWN and named in `unknown`."""
    series = [s for s in report.series if not (s.metric == Metric.MOS and s.estimated)]
    series += estimated_mos(report)
    graded: list[Graded] = []
    unknown = list(report.missing)
    for s in series:
        g = grade_series(s)
        if g is not None:
            graded.append(g)
        elif s.metric == Metric.SCORE and any(v is not None for v in s.values):
            unknown.append(f"provider quality score {side(s.media, s.direction)} (unknown scale)")

    findings = [series_finding(g) for g in graded]
    findings += summary_findings(report, {g.key for g in graded})
    findings += limitation_findings(report)
    components = len(findings)
    relay = relay_finding(report, findings)
    if relay is not None:
        findings.append(relay)
    findings += warning_findings(report)
    _add_causes(findings, bool(report.network.relayed))
    findings.sort(key=_sort_key)

    if components == 0:
        who = provider_label(report.provider)
        what = "no gradeable quality stats" if report.has_stats else "no quality stats"
        headline = f"Unknown: {who} returned {what} for this participant"
        return Verdict(Grade.UNKNOWN, headline, findings, unknown)

    overall = max((f.grade for f in findings), key=lambda g: g.rank)
    if overall == Grade.GOOD:
        names: list[str] = []
        for g in sorted(graded, key=lambda g: PRIORITY[g.series.metric.value]):
            word = SHORT[g.series.metric]
            if word not in names:
                names.append(word)
        if any(f.metric == "quality_limitation" for f in findings):
            names.append("CPU/bandwidth limitation")
        headline = "Good: no sustained problem in " + join_words(names or ["the call"], "or")
    else:
        headline = f"{overall.word}: {findings[0].summary}"
    if unknown and overall in (Grade.GOOD, Grade.FAIR):
        headline += f"; not available: {join_words(unknown)}"
        findings.append(
            Finding(
                metric="unavailable",
                grade=Grade.UNKNOWN,
                text=f"Not available, so not graded: {join_words(unknown)}.",
            )
        )
    return Verdict(overall, headline, findings, unknown)
