"""The grading thresholds, each with its source, and the per-series grading that applies them.

Every (media, direction, metric) series gets a level per sample (0 good, 1 fair, 2 poor); a bad
level counts only when it persists (`grade_series`). Sources of every threshold are in
shared/reference/quality.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.grades import Grade
from providers.models import Direction, Media, Metric, Series

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
PERSIST_TOTAL_S = 30.0  # peermetrics raises eMOS issues only when sustained >= 30 s (unbroken)

GRADES = (Grade.GOOD, Grade.FAIR, Grade.POOR)  # indexed by level


@dataclass
class Graded:
    """One graded series: its samples, their levels and, when not good, the persistent episode."""

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


def sample_levels(series: Series, v: np.ndarray) -> tuple[np.ndarray, float | None] | None:
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
    """The samples of a persistent problem, or None when the bad samples are only spikes.

    A bad sample counts when it is part of 3 bad samples out of 5 consecutive ones, or of an
    unbroken bad stretch lasting 30 s or more (coarse sampling, where one sample already
    averages many seconds). Scattered spikes never add up: an hour with a one-second spike
    every minute is not a sustained problem."""
    if not bad.any():
        return None
    marked = np.zeros(len(bad), bool)
    if bad.sum() >= PERSIST_COUNT:
        win = min(PERSIST_WINDOW, len(bad))
        sums = np.convolve(bad.astype(np.int16), np.ones(win, np.int16), "valid")
        starts = np.flatnonzero(sums >= PERSIST_COUNT)
        for k in range(win):
            marked[starts + k] = True
    if interval > 0:
        # Unbroken runs of bad samples: [begin, end) index pairs from the edges of `bad`.
        edges = np.flatnonzero(np.diff(np.concatenate(([0], bad.astype(np.int8), [0]))))
        for begin, end in zip(edges[::2], edges[1::2], strict=True):
            if (end - begin) * interval >= PERSIST_TOTAL_S:
                marked[begin:end] = True
    marked &= bad
    return marked if marked.any() else None


def grade_series(series: Series) -> Graded | None:
    """The series graded by its persistent worst level, or None: nothing to grade or no scale."""
    if not series.values:
        return None
    t, v = _arrays(series)
    if series.metric == Metric.HEIGHT:  # 0 px is "no video", not a resolution
        keep = v > 0
        t, v = t[keep], v[keep]
    if not len(v):
        return None
    got = sample_levels(series, v)
    if got is None:
        return None
    levels, normal = got
    interval = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    p10, p50, p90 = (float(x) for x in np.percentile(v, [10, 50, 90]))
    graded = Graded(series, Grade.GOOD, t, v, levels, interval, p10, p50, p90, normal)
    for level in (2, 1):
        episode = _persistent(levels >= level, interval)
        if episode is not None:
            graded.grade = GRADES[level]
            graded.episode = episode
            break
    return graded
