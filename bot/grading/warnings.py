"""Provider warnings, read rather than counted.

A warning that carries a number ("Packet loss of 15% on the participant's connection") becomes a
finding of that metric, graded by the same thresholds as a sample, at its own time. A warning
that says the encoder was limited by the CPU or by bandwidth becomes a limitation finding at
that moment, so `causes` can tie it to the frame-rate, resolution or bitrate drop it explains.
Anything else stays a Fair finding that quotes the provider.
"""

from __future__ import annotations

import re

from bot.grading import words as w
from bot.grading.episodes import EDGE_S
from bot.grading.thresholds import level_of
from bot.grading.types import Episode, Finding, Grade
from providers.models import Direction, EventKind, Media, Metric, Report

_NUMBER = r"(\d+(?:\.\d+)?)"
PATTERNS: list[tuple[Metric, re.Pattern[str]]] = [
    # (metric, pattern with the value in group 1 and the unit in group 2)
    (Metric.LOSS, re.compile(rf"(?:packet[\s_-]*loss|lost)\D{{0,40}}?{_NUMBER}\s*(%)", re.I)),
    (Metric.JITTER, re.compile(rf"jitter\D{{0,40}}?{_NUMBER}\s*(ms|s)\b", re.I)),
    (
        Metric.RTT,
        re.compile(rf"(?:rtt|round[\s-]*trip|latency)\D{{0,40}}?{_NUMBER}\s*(ms|s)\b", re.I),
    ),
]
LIMITED = re.compile(r"limit\w*\W+(?:\w+\W+){0,4}?(cpu|bandwidth|network)", re.I)
MEDIA_PREFIX = {
    "audio": Media.AUDIO,
    "video": Media.VIDEO,
    "screenshare video": Media.SCREEN_VIDEO,
    "screenshare audio": Media.SCREEN_AUDIO,
}
# A warning is a moment; the problem it reports is taken to span this long either side, so
# that a drop starting shortly after it is still "at the same time".
WARNING_SPAN_S = EDGE_S


def _media(text: str) -> tuple[Media | None, str]:
    head, sep, rest = text.partition(": ")
    if sep and head.lower() in MEDIA_PREFIX:
        return MEDIA_PREFIX[head.lower()], rest
    return None, text


def _value(text: str) -> tuple[Metric, float] | None:
    for metric, pattern in PATTERNS:
        m = pattern.search(text)
        if m:
            value = float(m.group(1))
            if m.group(2).lower() == "s":
                value *= 1000.0
            return metric, value
    return None


def warning_findings(report: Report) -> list[Finding]:
    """Findings from the report's warning events, on the track and side the provider gave."""
    grouped: dict[tuple[str, Media | None, Direction | None], list[float]] = {}
    for event in report.events:
        if event.kind == EventKind.WARNING:
            key = (event.text, event.media, event.direction)
            grouped.setdefault(key, []).append(event.time.timestamp())
    out: list[Finding] = []
    for (text, given_media, direction), times in grouped.items():
        times.sort()
        first, count = times[0], len(times)
        media, quote = _media(text)
        media = given_media or media
        eps = [Episode(t - 1.0, t + WARNING_SPAN_S, 1, 0.0, 0.0) for t in times]
        parsed = _value(quote)
        limited = LIMITED.search(quote)
        if parsed is not None:
            metric, value = parsed
            level = level_of(metric, media or Media.AUDIO, value)
            for e in eps:
                e.level, e.typical, e.worst = max(level, 1), value, value
            shown = w.qty(value, metric)
            name = w.label(metric)
            out.append(
                Finding(
                    metric=metric.value,
                    grade=Grade.of_level(level),
                    text=w.warning_metric_text(name, shown, first, count, quote),
                    media=media,
                    direction=direction,
                    p50=value,
                    since=first,
                    until=times[-1],
                    summary=w.warning_metric_summary(name, shown, first),
                    episodes=eps,
                    source="warning",
                )
            )
        elif limited:
            reason = limited.group(1).lower()
            word, cause = (
                ("CPU", w.CAUSE_CPU) if reason == "cpu" else ("bandwidth", w.CAUSE_BANDWIDTH)
            )
            where = w.side(media or Media.VIDEO, direction or Direction.SEND)
            out.append(
                Finding(
                    metric="quality_limitation",
                    grade=Grade.FAIR,
                    text=w.warning_text(quote, first, count) + w.caused(cause),
                    media=media or Media.VIDEO,
                    direction=direction or Direction.SEND,
                    since=first,
                    until=times[-1],
                    cause=cause,
                    summary=w.warned_limitation(word, where, first),
                    episodes=eps,
                    source="warning",
                )
            )
        else:
            out.append(
                Finding(
                    metric="warning",
                    grade=Grade.FAIR,
                    text=w.warning_text(text, first, count),
                    since=first,
                    until=times[-1],
                    summary=w.warning_summary(text),
                    episodes=eps,
                    source="warning",
                )
            )
    return out
