"""The words and numbers of verdicts: media and metric names, likely causes, times, spans and
values with their units, so every finding says them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from providers.models import LABELS, UNITS, Direction, Media, Metric, Series

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

CAUSE_DOWNLINK = "this participant's downlink (or the senders' uplinks)"
CAUSE_UPLINK = "this participant's uplink"
CAUSE_BOTH = "this participant's network (loss on both send and receive)"
CAUSE_DISTANT = "a distant server/region or a relay"
CAUSE_CPU = "the device's CPU could not keep up"
CAUSE_BANDWIDTH = "not enough upload bandwidth (this participant's uplink)"


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
