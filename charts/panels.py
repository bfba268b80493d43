"""The panels a chart can hold, and the focus words that choose them.

A `Panel` names the metrics it plots and, for loss, jitter, RTT and MOS, the grading thresholds
from `bot.verdicts` as good/fair/poor bands, so the chart and the verdict always agree. Users
narrow a chart with a focus word: a media group (`audio`, `video`, `network`) or one panel,
under any of its synonyms; `resolve_focus` turns the word into panel keys and a media filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import grading as v
from providers.models import Media, Metric

INF = 1e9


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    ylabel: str
    metrics: tuple[Metric, ...]
    bands: tuple[tuple[float, float], ...] = ()  # (low, high) for good, fair, poor in order
    floor_top: float | None = None  # the y range always reaches this, so bands show
    log: bool = False
    fixed: tuple[float, float] | None = None


PANELS: dict[str, Panel] = {
    p.key: p
    for p in (
        Panel(
            "mos",
            "Quality (MOS)",
            "MOS (1-5)",
            (Metric.MOS, Metric.SCORE),
            ((v.MOS_GOOD, 5.0), (v.MOS_POOR, v.MOS_GOOD), (0.0, v.MOS_POOR)),
            fixed=(1.0, 4.6),
        ),
        Panel(
            "loss",
            "Packet loss",
            "loss (%)",
            (Metric.LOSS,),
            ((0.0, v.LOSS_FAIR_PCT), (v.LOSS_FAIR_PCT, v.LOSS_POOR_PCT), (v.LOSS_POOR_PCT, INF)),
            floor_top=v.LOSS_POOR_PCT * 1.6,
        ),
        Panel(
            "jitter",
            "Jitter",
            "jitter (ms)",
            (Metric.JITTER,),
            (
                (0.0, v.JITTER_FAIR_MS),
                (v.JITTER_FAIR_MS, v.JITTER_POOR_MS),
                (v.JITTER_POOR_MS, INF),
            ),
            floor_top=v.JITTER_POOR_MS * 1.4,
        ),
        Panel(
            "rtt",
            "Round-trip time",
            "RTT (ms)",
            (Metric.RTT,),
            ((0.0, v.RTT_FAIR_MS), (v.RTT_FAIR_MS, v.RTT_POOR_MS), (v.RTT_POOR_MS, INF)),
            floor_top=v.RTT_POOR_MS * 1.3,
        ),
        Panel("bitrate", "Bitrate", "kbps (log)", (Metric.BITRATE,), log=True),
        Panel("fps", "Frame rate", "frames/s", (Metric.FPS,), floor_top=32.0),
        Panel("resolution", "Resolution (frame height)", "height (px)", (Metric.HEIGHT,)),
        Panel("buffer", "Jitter buffer delay", "delay (ms)", (Metric.JITTER_BUFFER,)),
    )
}
# The full chart; the jitter buffer is drawn only when asked for (`chart buffer`).
DEFAULT_PANELS = ("mos", "loss", "jitter", "rtt", "bitrate", "fps", "resolution")
NETWORK = ("loss", "jitter", "rtt")
VIDEO_PANELS = ("bitrate", "fps", "resolution")
FOCUS_PANELS: dict[str, tuple[tuple[str, ...], frozenset[Media] | None]] = {
    "audio": (
        ("mos", "loss", "jitter", "rtt", "bitrate"),
        frozenset({Media.AUDIO, Media.CONNECTION}),
    ),
    "video": (
        ("loss", "jitter", "rtt", "bitrate", "fps", "resolution"),
        frozenset({Media.VIDEO, Media.SCREEN_VIDEO, Media.CONNECTION}),
    ),
    "network": (NETWORK, None),
}
FOCUS_WORDS = {  # accepted words -> panel key
    "loss": "loss",
    "packetloss": "loss",
    "packet_loss": "loss",
    Metric.LOSS.value: "loss",
    "jitter": "jitter",
    Metric.JITTER.value: "jitter",
    "rtt": "rtt",
    "latency": "rtt",
    Metric.RTT.value: "rtt",
    "bitrate": "bitrate",
    "bandwidth": "bitrate",
    Metric.BITRATE.value: "bitrate",
    "fps": "fps",
    "framerate": "fps",
    "frame_rate": "fps",
    "resolution": "resolution",
    "height": "resolution",
    Metric.HEIGHT.value: "resolution",
    "mos": "mos",
    "quality": "mos",
    "score": "mos",
    Metric.SCORE.value: "mos",
    "buffer": "buffer",
    "jitter_buffer": "buffer",
    Metric.JITTER_BUFFER.value: "buffer",
}
# The words offered to users, in this order; every other accepted word is a synonym.
FOCUS_CHOICES = (
    *FOCUS_PANELS,
    *("loss", "jitter", "rtt", "bitrate", "fps", "resolution", "mos", "buffer"),
)


def focus_choices() -> list[str]:
    """The focus words to offer: the media groups, then one word per panel."""
    return list(FOCUS_CHOICES)


def focus_key(focus: str) -> str | None:
    """The canonical focus word (`audio`, `loss`, ...) for any accepted word, else None."""
    word = focus.strip().lower().replace("-", "_").replace(" ", "_")
    if word in FOCUS_PANELS:
        return word
    return FOCUS_WORDS.get(word)


def resolve_focus(focus: str | None) -> tuple[tuple[str, ...], frozenset[Media] | None]:
    """Panel keys and media filter for a focus word; ValueError names the valid words."""
    if focus is None:
        return DEFAULT_PANELS, None
    key = focus_key(focus)
    if key is None:
        raise ValueError(f"Unknown chart `{focus}`; choose one of: {', '.join(focus_choices())}.")
    if key in FOCUS_PANELS:
        return FOCUS_PANELS[key]
    return (key,), None


FOCUS_TITLES = {"audio": "Audio", "video": "Video", "network": "Network (loss, jitter, RTT)"}


def focus_title(focus: str) -> str:
    """What a focused chart shows, for its title: "Packet loss", "Audio"."""
    key = focus_key(focus) or focus
    if key in FOCUS_TITLES:
        return FOCUS_TITLES[key]
    return PANELS[key].title if key in PANELS else focus


def focus_metrics(focus: str) -> set[str]:
    """The metric values (and pseudo-metrics) a focus covers, to pick the findings about it."""
    keys, media = resolve_focus(focus)
    names = {metric.value for k in keys for metric in PANELS[k].metrics}
    if any(k in ("fps", "resolution", "bitrate") for k in keys):
        names |= {"quality_limitation", "freeze"}
    return names
