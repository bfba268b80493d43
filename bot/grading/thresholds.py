"""The grading thresholds, each with its source, and what they make of one sample: a level
(0 good, 1 fair, 2 poor) and a severity (0 at the fair edge, 1 at the poor edge, linear).

Sources of every threshold are in shared/reference/quality.md section 2. How levels become
episodes and grades is in `episodes`.
"""

from __future__ import annotations

import numpy as np

from providers.models import Media, Metric

LOSS_FAIR_PCT = 1.0  # Pexip <1 % good; Vidyo <1 % ideal
LOSS_POOR_PCT = 5.0  # Twilio Voice Insights high_packet_loss >5 %; Vidyo >5 %; issue-detector >5
JITTER_FAIR_MS = 10.0  # Plivo <=10 ms good; Vidyo <10 ms ideal
JITTER_POOR_MS = 30.0  # Plivo >=30; Twilio SDK, Sinch, Teams CQD, testRTC >30 ms
RTT_FAIR_MS = 200.0  # Plivo <200 good; Azure Communication Services recommends <=200 ms
RTT_POOR_MS = 400.0  # Twilio SDK high-rtt and SDK-edge high_latency >400 ms
MOS_GOOD = 4.0  # G.107 R 80; peermetrics low_emos <4; DEX for Zoom >=4 good
MOS_POOR = 3.1  # G.107 R 60; Twilio SDK MOS <3.1 "degraded"
SCORE_MAX = 5.0  # a provider score on 0-5 is compared with the MOS bands; other scales are not
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
FREEZE_FPS = 1.0  # below one frame a second the picture is frozen (Agora: video freeze >600 ms)
FREEZE_MIN_S = 2.0  # a freeze shorter than this is a stutter
FREEZE_FAIR_SHARE = 0.01  # quality.md "frozen time": <1 % good, 1-5 % fair, >5 % poor
FREEZE_POOR_SHARE = 0.05


HIGHER_IS_WORSE = {
    Metric.LOSS: (LOSS_FAIR_PCT, LOSS_POOR_PCT),
    Metric.JITTER: (JITTER_FAIR_MS, JITTER_POOR_MS),
    Metric.RTT: (RTT_FAIR_MS, RTT_POOR_MS),
}
NETWORK = (Metric.LOSS, Metric.JITTER, Metric.RTT)


def score_is_mos_like(v: np.ndarray) -> bool:
    return bool(len(v)) and float(v.min()) >= 0 and float(v.max()) <= SCORE_MAX


def normal_of(metric: Metric, media: Media, v: np.ndarray) -> float | None:
    """The track's own normal for relative metrics (camera video only), else None."""
    # Screen share legitimately idles at a frame or two and tiny bitrates on a still slide,
    # so relative video grading is for the camera track only.
    if media != Media.VIDEO or not len(v):
        return None
    if metric == Metric.FPS:
        return min(float(np.percentile(v, FPS_NORMAL_PCTL)), FPS_NORMAL_CAP)
    if metric == Metric.BITRATE:
        return float(np.percentile(v, BITRATE_BASELINE_PCTL))
    if metric == Metric.HEIGHT:
        return float(np.percentile(v, HEIGHT_NORMAL_PCTL))
    return None


def audio_presence(metric: Metric, media: Media) -> bool:
    """Audio bitrate says the track was sent, not how well: speech pauses (DTX) take it down to
    a kilobit or two, so it is graded as present, never as a drop."""
    return metric == Metric.BITRATE and media in (Media.AUDIO, Media.SCREEN_AUDIO)


def gradeable(metric: Metric, media: Media) -> bool:
    if metric in HIGHER_IS_WORSE or metric in (Metric.MOS, Metric.SCORE):
        return True
    if audio_presence(metric, media):
        return True
    return media == Media.VIDEO and metric in (Metric.FPS, Metric.BITRATE, Metric.HEIGHT)


def assess(
    metric: Metric, media: Media, v: np.ndarray, normal: float | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-sample level (0, 1, 2) and severity for `v`, or None: this metric has no scale.

    Severity is linear between the edges (0 at the fair edge, 1 at the poor edge) and kept
    consistent with the level: a fair sample stays below 1, a poor one at 1 or more. It is not
    capped: a cap would make the same burst weigh more when a coarse sampler averages it."""
    if metric in HIGHER_IS_WORSE:
        fair, poor = HIGHER_IS_WORSE[metric]
        level = (v >= fair).astype(np.int8) + (v > poor)
        severity = (v - fair) / (poor - fair)
    elif metric in (Metric.MOS, Metric.SCORE):
        if metric == Metric.SCORE and not score_is_mos_like(v):
            return None
        level = (v < MOS_GOOD).astype(np.int8) + (v < MOS_POOR)
        severity = (MOS_GOOD - v) / (MOS_GOOD - MOS_POOR)
    elif audio_presence(metric, media):
        return np.zeros(len(v), np.int8), np.zeros(len(v))
    elif not gradeable(metric, media) or normal is None or normal <= 0:
        return None
    elif metric == Metric.FPS:
        ratio = v / normal
        level = (ratio < FPS_GOOD_RATIO).astype(np.int8) + (ratio < FPS_POOR_RATIO)
        severity = (FPS_GOOD_RATIO - ratio) / (FPS_GOOD_RATIO - FPS_POOR_RATIO)
    elif metric == Metric.BITRATE:
        ratio = v / normal
        level = (ratio < BITRATE_GOOD_RATIO).astype(np.int8) + (ratio < BITRATE_POOR_RATIO)
        severity = (BITRATE_GOOD_RATIO - ratio) / (BITRATE_GOOD_RATIO - BITRATE_POOR_RATIO)
    else:  # HEIGHT
        level = (v < HEIGHT_GOOD_PX).astype(np.int8) + (v < HEIGHT_FAIR_PX)
        steady = v >= HEIGHT_STEADY_RATIO * normal
        level = np.where(steady, np.minimum(level, 1), level).astype(np.int8)
        severity = (HEIGHT_GOOD_PX - v) / (HEIGHT_GOOD_PX - HEIGHT_FAIR_PX)
    severity = np.where(
        level == 2,
        np.maximum(severity, 1.0),
        np.where(level == 1, np.clip(severity, 0.0, 0.999), 0.0),
    )
    return level.astype(np.int8), severity


def level_of(metric: Metric, media: Media, value: float, normal: float | None = None) -> int:
    got = assess(metric, media, np.array([value], dtype=float), normal)
    return int(got[0][0]) if got is not None else 0
