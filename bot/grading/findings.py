"""The findings of a verdict, one builder per component: a graded series, the encoder's quality
limitation, frozen video, a provider's call averages and the media path (relay/TCP).
Provider warnings are read in `warnings`.

Each finding's `text` is one sentence naming the metric, the side and when; `summary` is the
headline fragment used when that finding leads. Causes are added later (`causes`), once all
findings are known.
"""

from __future__ import annotations

import numpy as np

from bot.grading import words as w
from bot.grading.episodes import JOIN_GAP_S, GradedSeries, coverage
from bot.grading.thresholds import (
    FREEZE_FAIR_SHARE,
    FREEZE_FPS,
    FREEZE_MIN_S,
    FREEZE_POOR_SHARE,
    HEIGHT_GOOD_PX,
    HEIGHT_STEADY_RATIO,
    LIMITATION_FAIR_SHARE,
    LIMITATION_POOR_SHARE,
    audio_presence,
    level_of,
)
from bot.grading.types import Episode, Finding, Grade
from providers.models import Direction, Media, Metric, Report

# --- a graded series ---------------------------------------------------------------------------


def series_finding(g: GradedSeries) -> Finding:
    """How one series held up: its problem episodes with their own values and times, or that
    it stayed good (with the spikes that did not count)."""
    s = g.series
    metric = s.metric
    name = w.label(s)
    where = w.side(s.media, s.direction)
    finding = Finding(
        metric=metric.value,
        grade=g.grade,
        text="",
        media=s.media,
        direction=s.direction,
        p50=round(g.p50, 3),
        p90=round(g.p90, 3),
        estimated=s.estimated,
        spikes=list(g.spikes),
    )
    p50, p90 = w.qty(g.p50, metric), w.qty(g.p90, metric)
    relative = g.normal is not None and metric in (Metric.FPS, Metric.BITRATE)
    extra = w.also(w.spikes_sentence(g.spikes, metric)) if g.spikes else ""
    if audio_presence(metric, s.media):
        finding.text = w.audio_sent_sentence(s.media, s.direction, p50)
        finding.summary = w.component(name, where)
        return finding
    if g.grade == Grade.GOOD:
        bad_share = float(g.d[g.levels >= 1].sum() / g.d.sum())
        if g.normal is not None and metric != Metric.HEIGHT:
            text = w.held_sentence(name, where, w.qty(g.normal, metric), p50)
        else:
            text = w.good_sentence(name, where, p50, p90, bad_share)
        finding.text = w.sentence(text + extra)
        finding.summary = w.component(name, where)
        return finding

    eps = g.problems
    finding.episodes = eps
    worst = g.worst_episode
    assert worst is not None
    finding.since, finding.until = worst.start, worst.end
    finding.duration_s = g.bad_time_s
    normal = g.normal if relative else None
    if (
        metric == Metric.HEIGHT
        and g.normal is not None
        and float(g.v.min()) >= HEIGHT_STEADY_RATIO * g.normal
    ):
        period = w.span(eps[0].start, eps[-1].end)
        level = w.value_range(float(g.v.min()), float(g.v.max()), metric)
        finding.text = w.steady_low_sentence(name, where, level, w.num(HEIGHT_GOOD_PX), period)
    else:
        finding.text = w.episodes_sentence(name, where, eps, metric, normal)
    if extra:
        finding.text = finding.text[:-1] + extra + "."
    finding.summary = w.summary_fragment(name, where, eps, metric)
    return finding


# --- encoder limitation and freezes ------------------------------------------------------------


def _stretches(t: np.ndarray, d: np.ndarray, hit: np.ndarray, level: int) -> list[Episode]:
    """Runs of `hit` samples as episodes, joined across gaps under JOIN_GAP_S."""
    out: list[Episode] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], hit.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start, end = float(t[a]), float(t[b - 1] + d[b - 1])
        if out and start - out[-1].end < JOIN_GAP_S:
            out[-1].end = end
            continue
        out.append(Episode(start, end, level, 1.0, 1.0))
    return out


def limitation_findings(report: Report) -> list[Finding]:
    """Per track, a finding for CPU or bandwidth limitation held long enough to matter (by
    time, not by sample count), else one good finding saying there was none."""
    by_track: dict[tuple[Media, Direction], list[tuple[float, str]]] = {}
    for lim in report.limitations:
        by_track.setdefault((lim.media, lim.direction), []).append((lim.time, lim.reason.lower()))
    out = []
    for (media, direction), samples in by_track.items():
        samples.sort()
        t = np.array([x for x, _ in samples], dtype=float)
        d = coverage(t)
        where = w.side(media, direction)
        limited = False
        for reason, cause, word in (
            ("cpu", w.CAUSE_CPU, "CPU"),
            ("bandwidth", w.CAUSE_BANDWIDTH, "bandwidth"),
        ):
            hit = np.array([r == reason for _, r in samples])
            share = float(d[hit].sum() / d.sum())
            if share < LIMITATION_FAIR_SHARE:
                continue
            limited = True
            grade = Grade.POOR if share >= LIMITATION_POOR_SHARE else Grade.FAIR
            eps = _stretches(t, d, hit, 2 if grade == Grade.POOR else 1)
            total = float(d[hit].sum())
            pct = w.percent(share)
            out.append(
                Finding(
                    metric="quality_limitation",
                    grade=grade,
                    text=w.limitation_text(word, where, pct, eps[0].start, eps[-1].end, total)
                    + w.caused(cause),
                    media=media,
                    direction=direction,
                    since=eps[0].start,
                    until=eps[-1].end,
                    duration_s=total,
                    cause=cause,
                    summary=w.limitation_summary(word, where, pct, total, eps[0].start),
                    episodes=eps,
                    source="limitation",
                )
            )
        if not limited:
            out.append(
                Finding(
                    metric="quality_limitation",
                    grade=Grade.GOOD,
                    text=w.no_limitation(where),
                    media=media,
                    direction=direction,
                    summary=w.component("quality limitation", where),
                    source="limitation",
                )
            )
    return out


def freeze_finding(g: GradedSeries) -> Finding | None:
    """Frozen video: the frame rate at (almost) zero for FREEZE_MIN_S or more while the track
    was live on both sides of it (a camera turned off at the end is not a freeze)."""
    s = g.series
    if s.metric != Metric.FPS or s.media not in (Media.VIDEO, Media.SCREEN_VIDEO):
        return None
    frozen = g.v < FREEZE_FPS
    if not frozen.any() or frozen.all():
        return None
    live = np.flatnonzero(~frozen)
    inside = np.zeros_like(frozen)
    inside[live[0] : live[-1] + 1] = True
    eps = [e for e in _stretches(g.t, g.d, frozen & inside, 2) if e.duration_s >= FREEZE_MIN_S]
    if not eps:
        return None
    total = sum(e.duration_s for e in eps)
    share = total / max(float(g.d.sum()), 1.0)
    if share < FREEZE_FAIR_SHARE and total < 10:
        return None
    grade = Grade.POOR if share >= FREEZE_POOR_SHARE else Grade.FAIR
    for e in eps:
        e.typical = e.worst = 0.0
        e.level = 2 if grade == Grade.POOR else 1
    where = w.side(s.media, s.direction)
    worst = max(eps, key=lambda e: e.duration_s)
    return Finding(
        metric="freeze",
        grade=grade,
        text=w.freeze_text(where, eps, total, share),
        media=s.media,
        direction=s.direction,
        since=worst.start,
        until=worst.end,
        duration_s=total,
        summary=w.freeze_summary(where, total, eps[0].start),
        episodes=eps,
    )


# --- provider averages and the media path -----------------------------------------------------

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
            grade = Grade.of_level(level_of(metric, summary.media, value))
            where = w.side(summary.media, summary.direction)
            name = w.label(metric)
            shown = w.qty(value, metric)
            out.append(
                Finding(
                    metric=metric.value,
                    grade=grade,
                    text=w.average_text(name, where, shown),
                    media=summary.media,
                    direction=summary.direction,
                    p50=value,
                    summary=w.average_summary(name, where, shown),
                    source="summary",
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
    over = w.over(net.transport)
    high_rtt = any(f.metric == Metric.RTT.value and f.is_problem for f in findings)
    # A relay or TCP adds delay but never decides a Poor on its own: fair at most.
    return Finding(
        metric="relay",
        grade=Grade.FAIR if high_rtt else Grade.GOOD,
        text=w.relay_text(how, over, high_rtt),
        summary=w.relay_summary(over, high_rtt),
        source="path",
    )
