"""The findings of a verdict, one builder per component: a graded series, the encoder's quality
limitation, a provider's call averages, the media path (relay/TCP) and provider warnings.

Each finding's `text` is one sentence naming the metric, the side and when; `summary` is the
headline fragment used when that finding is the worst. Causes are added later, by the verdict,
once all findings are known.
"""

from __future__ import annotations

import numpy as np

from bot.grades import Finding, Grade
from bot.thresholds import (
    GRADES,
    HEIGHT_GOOD_PX,
    HEIGHT_STEADY_RATIO,
    LIMITATION_FAIR_SHARE,
    LIMITATION_POOR_SHARE,
    Graded,
    sample_levels,
)
from bot.wording import (
    CAUSE_BANDWIDTH,
    CAUSE_CPU,
    cap,
    clock,
    label,
    num,
    qty,
    side,
    span_text,
    value_range,
)
from providers.models import Direction, EventKind, Media, Metric, Report, Series

# --- a graded series ---------------------------------------------------------------------------


def _when(g: Graded) -> tuple[float, float, float]:
    assert g.episode is not None
    times = g.t[g.episode]
    duration = len(times) * g.interval
    return float(times[0]), float(times[-1] + g.interval), duration


def series_finding(g: Graded) -> Finding:
    """The finding for one graded series: how it held up, or the level and period of its
    persistent problem."""
    s = g.series
    metric = s.metric
    name = label(s, s.estimated)
    where = side(s.media, s.direction)
    finding = Finding(
        metric=metric.value,
        grade=g.grade,
        text="",
        media=s.media,
        direction=s.direction,
        p50=round(g.p50, 3),
        p90=round(g.p90, 3),
        estimated=s.estimated,
    )
    higher_is_worse = metric in (Metric.LOSS, Metric.JITTER, Metric.RTT)
    if g.grade == Grade.GOOD:
        if higher_is_worse:
            level = f"p50 {qty(g.p50, metric)}, p90 {qty(g.p90, metric)}"
            worst = float(g.v.max())
            spikes = (
                f"; brief spikes up to {qty(worst, metric)} did not persist"
                if g.levels.max() > 0
                else ""
            )
            finding.text = f"{cap(name)} {where} stayed good ({level}{spikes})."
        elif g.normal is not None:
            finding.text = (
                f"{cap(name)} {where} held near its normal "
                f"{qty(g.normal, metric)} (p50 {qty(g.p50, metric)})."
            )
        else:
            finding.text = (
                f"{cap(name)} {where} stayed good (p50 {num(g.p50, metric)}, "
                f"p10 {num(g.p10, metric)})."
            )
        finding.summary = f"{name} {where}"
        return finding

    since, until, duration = _when(g)
    finding.since, finding.until, finding.duration_s = since, until, duration
    bad = g.v[g.episode]
    lo, hi = (float(x) for x in np.percentile(bad, [5, 95]))
    period = f"from {clock(since)} to {clock(until)} UTC ({span_text(duration)} in total)"
    if higher_is_worse:
        level = f"{value_range(lo, hi, metric)} (p90 {qty(g.p90, metric)})"
        finding.text = f"{cap(name)} {where} was {level} {period}."
        stat = f"p90 {qty(g.p90, metric)}"
    elif (
        g.normal is not None
        and metric == Metric.HEIGHT
        and float(bad.min()) >= (HEIGHT_STEADY_RATIO * g.normal)
    ):
        finding.text = (
            f"{cap(name)} {where} stayed at {value_range(lo, hi, metric)}, "
            f"below {num(HEIGHT_GOOD_PX)}p HD, {period}."
        )
        stat = value_range(lo, hi, metric)
    elif g.normal is not None:
        normal = qty(g.normal, metric)
        verb = "dropped" if metric == Metric.HEIGHT else "fell"
        finding.text = (
            f"{cap(name)} {where} {verb} to {value_range(lo, hi, metric)} "
            f"(normal {normal}) {period}."
        )
        stat = f"{value_range(lo, hi, metric)} vs normal {normal}"
    else:
        # Lower is worse (MOS, score): the episode's own median, not the whole call's.
        finding.text = (
            f"{cap(name)} {where} was {value_range(lo, hi, metric)} "
            f"(median {num(float(np.median(bad)), metric)}) {period}."
        )
        stat = f"down to {num(lo, metric)}"
    finding.summary = f"{name} {where}, {stat} for {span_text(duration)} from {clock(since)} UTC"
    return finding


# --- the other components ----------------------------------------------------------------------


def limitation_findings(report: Report) -> list[Finding]:
    """Per track, a finding for CPU or bandwidth limitation held long enough to matter, else
    one good finding saying there was none."""
    by_track: dict[tuple[Media, Direction], list[tuple[float, str]]] = {}
    for lim in report.limitations:
        by_track.setdefault((lim.media, lim.direction), []).append((lim.time, lim.reason.lower()))
    out = []
    for (media, direction), samples in by_track.items():
        samples.sort()
        total = len(samples)
        times = np.array([t for t, _ in samples])
        interval = float(np.median(np.diff(times))) if total > 1 else 0.0
        where = side(media, direction)
        limited = False
        for reason, cause, word in (
            ("cpu", CAUSE_CPU, "CPU"),
            ("bandwidth", CAUSE_BANDWIDTH, "bandwidth"),
        ):
            hit = np.array([r == reason for _, r in samples])
            share = float(hit.mean())
            if share < LIMITATION_FAIR_SHARE:
                continue
            limited = True
            grade = Grade.POOR if share >= LIMITATION_POOR_SHARE else Grade.FAIR
            since, until = float(times[hit][0]), float(times[hit][-1] + interval)
            duration = float(hit.sum()) * interval
            pct = f"{share * 100:.0f} %"
            out.append(
                Finding(
                    metric="quality_limitation",
                    grade=grade,
                    text=(
                        f"{word} limitation {where}: the encoder lowered quality for {pct} of "
                        f"the samples, from {clock(since)} to {clock(until)} UTC "
                        f"({span_text(duration)} in total). Likely cause: {cause}."
                    ),
                    media=media,
                    direction=direction,
                    since=since,
                    until=until,
                    duration_s=duration,
                    cause=cause,
                    summary=(
                        f"{word} limitation {where}, {pct} of the call "
                        f"for {span_text(duration)} from {clock(since)} UTC"
                    ),
                )
            )
        if not limited:
            out.append(
                Finding(
                    metric="quality_limitation",
                    grade=Grade.GOOD,
                    text=f"No sustained CPU or bandwidth limitation {where}.",
                    media=media,
                    direction=direction,
                    summary=f"quality limitation {where}",
                )
            )
    return out


SUMMARY_KEYS = {
    "loss_avg_pct": Metric.LOSS,
    "jitter_avg_ms": Metric.JITTER,
    "rtt_avg_ms": Metric.RTT,
    "mos_avg": Metric.MOS,
}


def summary_findings(report: Report, graded: set[tuple[Media, Direction, Metric]]) -> list[Finding]:
    """Call averages from the provider's summaries, for tracks that came without samples."""
    out = []
    for summary in report.summaries:
        for key, metric in SUMMARY_KEYS.items():
            value = summary.values.get(key)
            if value is None or (summary.media, summary.direction, metric) in graded:
                continue
            probe = Series(media=summary.media, direction=summary.direction, metric=metric)
            got = sample_levels(probe, np.array([value], dtype=float))
            if got is None:
                continue
            grade = GRADES[int(got[0][0])]
            where = side(summary.media, summary.direction)
            shown = qty(value, metric)
            out.append(
                Finding(
                    metric=metric.value,
                    grade=grade,
                    text=f"{cap(label(metric))} {where} averaged {shown} over the call "
                    "(provider summary; no samples over time).",
                    media=summary.media,
                    direction=summary.direction,
                    p50=value,
                    summary=f"{label(metric)} {where}, call average {shown}",
                )
            )
            graded.add((summary.media, summary.direction, metric))
    return out


def relay_finding(report: Report, findings: list[Finding]) -> Finding | None:
    """A finding when media went through a TURN relay or over TCP/TLS, judged against the
    round-trip-time findings already made; None on a direct UDP path."""
    net = report.network
    tcp = (net.transport or "").lower() in ("tcp", "tls")
    if not net.relayed and not tcp:
        return None
    how = "through a TURN relay" if net.relayed else "directly"
    over = f" over {net.transport.upper()}" if net.transport else ""
    high_rtt = [f for f in findings if f.metric == Metric.RTT.value and f.grade.rank >= 1]
    if high_rtt:
        # A relay or TCP adds delay but never decides a Poor on its own: fair at most.
        return Finding(
            metric="relay",
            grade=Grade.FAIR,
            text=f"Media went {how}{over}, which adds delay and coincides with the high "
            "round-trip time.",
            summary=f"media relayed{over} with high round-trip time",
        )
    return Finding(
        metric="relay",
        grade=Grade.GOOD,
        text=f"Media went {how}{over}; round-trip time stayed acceptable.",
        summary=f"media relayed{over}",
    )


def warning_findings(report: Report) -> list[Finding]:
    """One fair finding per distinct provider warning, with its first time and count."""
    seen: dict[str, list[float]] = {}
    for event in report.events:
        if event.kind == EventKind.WARNING:
            seen.setdefault(event.text, []).append(event.time.timestamp())
    out = []
    for text, times in seen.items():
        times.sort()
        count = f" ({len(times)} times)" if len(times) > 1 else ""
        out.append(
            Finding(
                metric="warning",
                grade=Grade.FAIR,
                text=f'Provider warning at {clock(times[0])} UTC{count}: "{text}".',
                since=times[0],
                until=times[-1],
                summary=f'provider warning "{text}"',
            )
        )
    return out
