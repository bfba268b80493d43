"""Grade a normalized report: grade(report) -> Verdict.

Every (media, direction, metric) series is graded on its own against the thresholds below, a
bad level counting only when it persists; the overall grade is the worst component, and the
findings come worst first so the first one names what to look at. Sources of every threshold
are in shared/reference/quality.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from bot.emodel import estimated_mos
from providers.models import LABELS, UNITS, Direction, EventKind, Media, Metric, Report, Series


class Grade(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"

    @property
    def emoji(self) -> str:
        return {
            Grade.GOOD: ":large_green_circle:",
            Grade.FAIR: ":large_yellow_circle:",
            Grade.POOR: ":red_circle:",
            Grade.UNKNOWN: ":white_circle:",
        }[self]

    @property
    def word(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        # For "worst of": unknown ranks below good, so known data decides when there is any.
        return {Grade.UNKNOWN: -1, Grade.GOOD: 0, Grade.FAIR: 1, Grade.POOR: 2}[self]


@dataclass
class Finding:
    """One graded component. `metric` is a Metric value (e.g. "loss_pct") or a pseudo-metric
    such as "quality_limitation" / "relay" / "warning"; `text` is one sentence for a human that
    names the metric, the side (send/receive) and when."""

    metric: str
    grade: Grade
    text: str
    media: Media | None = None
    direction: Direction | None = None
    p50: float | None = None
    p90: float | None = None
    since: float | None = None  # Unix seconds where the problem started
    until: float | None = None
    duration_s: float | None = None  # time spent at this grade's level, in total
    estimated: bool = False  # graded from a series we derived (E-model MOS)
    cause: str | None = None  # the likely cause, in words, when the data shows one
    summary: str = ""  # the headline fragment after "Poor: "

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "grade": self.grade.value,
            "text": self.text,
            "media": self.media.value if self.media else None,
            "direction": self.direction.value if self.direction else None,
            "p50": self.p50,
            "p90": self.p90,
            "since": self.since,
            "until": self.until,
        }


@dataclass
class Verdict:
    grade: Grade
    headline: str  # "Poor: packet loss on receive (audio), 8-15 % from 14:01 to 14:04 UTC"
    findings: list[Finding] = field(default_factory=list)  # worst first
    unknown: list[str] = field(default_factory=list)  # what could not be graded, in words

    def as_dict(self) -> dict:
        return {
            "grade": self.grade.value,
            "headline": self.headline,
            "findings": [f.as_dict() for f in self.findings],
            "unknown": list(self.unknown),
        }


# --- thresholds --------------------------------------------------------------------------------

LOSS_FAIR_PCT = 1.0  # Pexip <1 % good; Vidyo <1 % ideal
LOSS_POOR_PCT = 5.0  # Twilio Voice Insights high_packet_loss >5 %; Vidyo >5 %; issue-detector >5
JITTER_FAIR_MS = 10.0  # Plivo <=10 ms good; Vidyo <10 ms ideal
JITTER_POOR_MS = 30.0  # Plivo >=30; Twilio SDK, Sinch, Teams CQD, testRTC >30 ms
RTT_FAIR_MS = 200.0  # Plivo <200 good; Azure Communication Services recommends <=200 ms
RTT_POOR_MS = 400.0  # Twilio SDK high-rtt and SDK-edge high_latency >400 ms
MOS_GOOD = 4.0  # G.107 R 80; peermetrics low_emos <4; DEX for Zoom >=4 good
MOS_POOR = 3.1  # G.107 R 60; Twilio SDK MOS <3.1 "degraded"
SCORE_MAX = 5.0  # a provider score on 0-5 reads like a MOS; other scales are not graded
HEIGHT_GOOD_PX = 540.0  # libwebrtc video_quality_observer: HD >= 960x540
HEIGHT_FAIR_PX = 360.0  # libwebrtc video_quality_observer: medium >= 640x360
# A height within 10 % of the track's normal is a steady choice (small layout, mobile
# camera), not a degradation: it is held at fair at worst.
HEIGHT_STEADY_RATIO = 0.9
HEIGHT_NORMAL_PCTL = 90
FPS_GOOD_RATIO = 0.8  # quality.md suggested grading, fps vs sent >=80 % (rtcscore fps penalty)
FPS_POOR_RATIO = 0.5  # same source, <50 % of normal
FPS_NORMAL_PCTL = 90  # the track's own normal frame rate ...
FPS_NORMAL_CAP = 30.0  # ... capped at 30: above that is a bonus, not an expectation
BITRATE_GOOD_RATIO = 0.4  # LiveKit scorer: 100 - 20 ln(expected/actual) inflects near 2.7x
BITRATE_POOR_RATIO = 0.05  # LiveKit scorer: 20x below expected is a collapse
BITRATE_BASELINE_PCTL = 90  # the track's baseline: its top decile, so a sender degraded
# for most of the call is still measured against what it did when healthy
LIMITATION_POOR_SHARE = 0.25  # quality.md heuristic: limited for a quarter of the call
LIMITATION_FAIR_SHARE = 0.05  # quality.md heuristic
PERSIST_WINDOW = 5  # Twilio SDK warnings: 3 of 5 consecutive samples
PERSIST_COUNT = 3
PERSIST_TOTAL_S = 30.0  # peermetrics raises eMOS issues only when sustained >= 30 s

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
MEDIA_WORDS = {
    Media.AUDIO: "audio",
    Media.VIDEO: "video",
    Media.SCREEN_AUDIO: "screenshare audio",
    Media.SCREEN_VIDEO: "screenshare video",
    Media.CONNECTION: "connection",
}
SHORT = {  # metric names for the "no sustained problem in ..." headline
    Metric.LOSS: "loss",
    Metric.JITTER: "jitter",
    Metric.RTT: "RTT",
    Metric.MOS: "MOS",
    Metric.SCORE: "quality score",
    Metric.FPS: "frame rate",
    Metric.HEIGHT: "resolution",
    Metric.BITRATE: "bitrate",
}
GRADES = (Grade.GOOD, Grade.FAIR, Grade.POOR)

CAUSE_DOWNLINK = "this participant's downlink (or the senders' uplinks)"
CAUSE_UPLINK = "this participant's uplink"
CAUSE_BOTH = "this participant's network (loss on both send and receive)"
CAUSE_DISTANT = "a distant server/region or a relay"
CAUSE_CPU = "the device's CPU could not keep up"
CAUSE_BANDWIDTH = "not enough upload bandwidth (this participant's uplink)"


# --- small formatting helpers ------------------------------------------------------------------


def clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")


def span_text(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def num(value: float, metric: Metric | None = None) -> str:
    if metric in (Metric.MOS, Metric.SCORE):
        return f"{value:.2f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 5 or value == round(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def with_unit(text: str, metric: Metric) -> str:
    unit = {Metric.MOS: "", Metric.SCORE: "", Metric.HEIGHT: "p"}.get(metric, None)
    if unit is None:
        unit = " " + {Metric.LOSS: "%"}.get(metric, metric_unit(metric))
    return text + unit


def metric_unit(metric: Metric) -> str:
    return UNITS[metric]


def qty(value: float, metric: Metric) -> str:
    return with_unit(num(value, metric), metric)


def value_range(lo: float, hi: float, metric: Metric) -> str:
    a, b = num(lo, metric), num(hi, metric)
    return with_unit(a if a == b else f"{a}-{b}", metric)


def side(media: Media, direction: Direction) -> str:
    return f"on {direction.value} ({MEDIA_WORDS[media]})"


def label(series_or_metric: Series | Metric, estimated: bool = False) -> str:
    metric = series_or_metric.metric if isinstance(series_or_metric, Series) else series_or_metric
    if metric == Metric.MOS and estimated:
        return "estimated MOS"
    if metric == Metric.SCORE:
        return "provider quality score"
    return metric_label(metric)


def metric_label(metric: Metric) -> str:
    return LABELS[metric]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_words(words: list[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


# --- per-series grading ------------------------------------------------------------------------


@dataclass
class _Graded:
    series: Series
    grade: Grade
    t: np.ndarray
    v: np.ndarray
    levels: np.ndarray
    interval: float
    p10: float
    p50: float
    p90: float
    normal: float | None = None  # the track's own normal, for relative metrics
    episode: np.ndarray | None = None  # mask of the samples of the persistent problem

    @property
    def key(self) -> tuple[Media, Direction, Metric]:
        return self.series.media, self.series.direction, self.series.metric


def _arrays(series: Series) -> tuple[np.ndarray, np.ndarray]:
    v = np.array(series.values, dtype=float)  # None -> nan
    t = np.asarray(series.times[: len(v)], dtype=float)
    keep = ~np.isnan(v)
    return t[keep], v[keep]


def _levels(series: Series, v: np.ndarray) -> tuple[np.ndarray, float | None] | None:
    """Per-sample level (0 good, 1 fair, 2 poor) and the normal used, or None: not graded."""
    metric, media = series.metric, series.media
    if metric == Metric.LOSS:
        return (v >= LOSS_FAIR_PCT).astype(np.int8) + (v > LOSS_POOR_PCT), None
    if metric == Metric.JITTER:
        return (v >= JITTER_FAIR_MS).astype(np.int8) + (v > JITTER_POOR_MS), None
    if metric == Metric.RTT:
        return (v >= RTT_FAIR_MS).astype(np.int8) + (v > RTT_POOR_MS), None
    if metric == Metric.MOS or (metric == Metric.SCORE and v.min() >= 0 and v.max() <= SCORE_MAX):
        return (v < MOS_GOOD).astype(np.int8) + (v < MOS_POOR), None
    # Screen share legitimately idles at a frame or two and tiny bitrates on a still slide,
    # so relative video grading is for the camera track only.
    if media != Media.VIDEO:
        return None
    if metric == Metric.FPS:
        normal = min(float(np.percentile(v, FPS_NORMAL_PCTL)), FPS_NORMAL_CAP)
        if normal <= 0:
            return None
        ratio = v / normal
        return (ratio < FPS_GOOD_RATIO).astype(np.int8) + (ratio < FPS_POOR_RATIO), normal
    if metric == Metric.BITRATE:
        normal = float(np.percentile(v, BITRATE_BASELINE_PCTL))
        if normal <= 0:
            return None
        ratio = v / normal
        return (ratio < BITRATE_GOOD_RATIO).astype(np.int8) + (ratio < BITRATE_POOR_RATIO), normal
    if metric == Metric.HEIGHT:
        normal = float(np.percentile(v, HEIGHT_NORMAL_PCTL))
        if normal <= 0:
            return None
        level = (v < HEIGHT_GOOD_PX).astype(np.int8) + (v < HEIGHT_FAIR_PX)
        steady = v >= HEIGHT_STEADY_RATIO * normal
        return np.where(steady, np.minimum(level, 1), level).astype(np.int8), normal
    return None


def _persistent(bad: np.ndarray, interval: float) -> np.ndarray | None:
    """The samples of a persistent problem (>= 3 of any 5 consecutive, or >= 30 s in total),
    or None when the bad samples are only spikes."""
    count = int(bad.sum())
    if count == 0:
        return None
    if count * interval >= PERSIST_TOTAL_S:
        return bad
    if count < PERSIST_COUNT:
        return None
    win = min(PERSIST_WINDOW, len(bad))
    sums = np.convolve(bad.astype(np.int16), np.ones(win, np.int16), "valid")
    starts = np.flatnonzero(sums >= PERSIST_COUNT)
    if not len(starts):
        return None
    marked = np.zeros(len(bad), bool)
    for k in range(win):
        marked[starts + k] = True
    return marked & bad


def _grade_series(series: Series) -> _Graded | None:
    if not series.values:
        return None
    t, v = _arrays(series)
    if series.metric == Metric.HEIGHT:  # 0 px is "no video", not a resolution
        keep = v > 0
        t, v = t[keep], v[keep]
    if not len(v):
        return None
    got = _levels(series, v)
    if got is None:
        return None
    levels, normal = got
    interval = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    p10, p50, p90 = (float(x) for x in np.percentile(v, [10, 50, 90]))
    graded = _Graded(series, Grade.GOOD, t, v, levels, interval, p10, p50, p90, normal)
    for level in (2, 1):
        episode = _persistent(levels >= level, interval)
        if episode is not None:
            graded.grade = GRADES[level]
            graded.episode = episode
            break
    return graded


# --- text --------------------------------------------------------------------------------------


def _when(g: _Graded) -> tuple[float, float, float]:
    assert g.episode is not None
    times = g.t[g.episode]
    duration = len(times) * g.interval
    return float(times[0]), float(times[-1] + g.interval), duration


def _series_finding(g: _Graded) -> Finding:
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
        finding.text = (
            f"{cap(name)} {where} was {value_range(lo, hi, metric)} "
            f"(p50 {num(g.p50, metric)}) {period}."
        )
        stat = f"p10 {num(g.p10, metric)}"
    finding.summary = f"{name} {where}, {stat} for {span_text(duration)} from {clock(since)} UTC"
    return finding


# --- the other components ----------------------------------------------------------------------


def _limitation_findings(report: Report) -> list[Finding]:
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


def _summary_findings(
    report: Report, graded: set[tuple[Media, Direction, Metric]]
) -> list[Finding]:
    """Call averages from the provider's summaries, for tracks that came without samples."""
    out = []
    for summary in report.summaries:
        for key, metric in SUMMARY_KEYS.items():
            value = summary.values.get(key)
            if value is None or (summary.media, summary.direction, metric) in graded:
                continue
            probe = Series(media=summary.media, direction=summary.direction, metric=metric)
            got = _levels(probe, np.array([value], dtype=float))
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


def _relay_finding(report: Report, findings: list[Finding]) -> Finding | None:
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


def _warning_findings(report: Report) -> list[Finding]:
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
            if loss_send and loss_recv:
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


def _provider_label(name: str) -> str:
    try:
        from providers.base import all_providers

        return all_providers()[name].label
    except (ImportError, KeyError):
        return name


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
    graded: list[_Graded] = []
    unknown = list(report.missing)
    for s in series:
        g = _grade_series(s)
        if g is not None:
            graded.append(g)
        elif s.metric == Metric.SCORE and any(v is not None for v in s.values):
            unknown.append(f"provider quality score {side(s.media, s.direction)} (unknown scale)")

    findings = [_series_finding(g) for g in graded]
    findings += _summary_findings(report, {g.key for g in graded})
    findings += _limitation_findings(report)
    components = len(findings)
    relay = _relay_finding(report, findings)
    if relay is not None:
        findings.append(relay)
    findings += _warning_findings(report)
    _add_causes(findings, bool(report.network.relayed))
    findings.sort(key=_sort_key)

    if components == 0:
        who = _provider_label(report.provider)
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
