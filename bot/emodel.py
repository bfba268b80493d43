"""A simplified ITU-T G.107 E-model: estimate an audio MOS from RTT, jitter and packet loss.

Used where a provider sends no MOS of its own. The formula is the one PingPlotter, NetBeez and
twilio-video.js (`lib/preflight/mos.ts`) use; see shared/reference/quality.md section 2.

    effective latency = RTT + 2 * jitter + 10 ms
    R = R0 - latency / 40            (latency < 160 ms)
    R = R0 - (latency - 120) / 10    (otherwise)
    R = R - 2.5 * loss_percent
    MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)     (G.107, R clamped to 0..100)
"""

from __future__ import annotations

import numpy as np

from providers.models import Direction, Media, Metric, Report, Series

R0 = 93.2  # PingPlotter / NetBeez default transmission rating (twilio-video.js uses 94.768)
LATENCY_KNEE_MS = 160.0  # past this the delay impairment grows 4x faster (PingPlotter)
CODEC_DELAY_MS = 10.0  # fixed codec/processing delay added to the measured latency
LOSS_WEIGHT = 2.5  # R points per percent of packet loss (PingPlotter; loss in percent)
# Samples of the other series are matched to a loss sample when at most this far apart;
# past that the component counts as absent (0) rather than borrowing a stale value.
ALIGN_TOLERANCE_S = 30.0


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """Transmission rating R for one sample (not clamped)."""
    latency = rtt_ms + 2.0 * jitter_ms + CODEC_DELAY_MS
    if latency < LATENCY_KNEE_MS:
        r = R0 - latency / 40.0
    else:
        r = R0 - (latency - 120.0) / 10.0
    return r - LOSS_WEIGHT * loss_pct


def r_to_mos(r: float) -> float:
    """G.107 Annex B mapping from R to MOS (1.0 .. 4.5)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


def mos(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    return r_to_mos(r_factor(rtt_ms, jitter_ms, loss_pct))


def mos_array(rtt_ms: np.ndarray, jitter_ms: np.ndarray, loss_pct: np.ndarray) -> np.ndarray:
    """Vectorised `mos` for aligned arrays of equal length."""
    latency = rtt_ms + 2.0 * jitter_ms + CODEC_DELAY_MS
    r = np.where(latency < LATENCY_KNEE_MS, R0 - latency / 40.0, R0 - (latency - 120.0) / 10.0)
    r = np.clip(r - LOSS_WEIGHT * loss_pct, 0.0, 100.0)
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


def _arrays(series: Series | None) -> tuple[np.ndarray, np.ndarray] | None:
    if series is None or not series.values:
        return None
    v = np.array(series.values, dtype=float)  # None -> nan
    t = np.asarray(series.times[: len(v)], dtype=float)
    keep = ~np.isnan(v)
    if not keep.any():
        return None
    return t[keep], v[keep]


def _aligned(at: np.ndarray, source: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """The `source` value nearest in time to each of `at` (0 where none is close enough)."""
    if source is None:
        return np.zeros_like(at)
    t, v = source
    idx = np.clip(np.searchsorted(t, at), 1, len(t) - 1) if len(t) > 1 else np.zeros(len(at), int)
    if len(t) > 1:
        left = idx - 1
        idx = np.where(np.abs(t[left] - at) <= np.abs(t[idx] - at), left, idx)
    out = v[idx]
    return np.where(np.abs(t[idx] - at) <= ALIGN_TOLERANCE_S, out, 0.0)


def _first(report: Report, candidates: list[tuple[Media, Direction]], metric: Metric):
    for media, direction in candidates:
        got = _arrays(report.get(media, direction, metric))
        if got is not None:
            return got
    return None


def estimated_mos(report: Report) -> list[Series]:
    """Estimated audio MOS per direction where the provider sent none.

    Needs the direction's audio loss plus RTT or jitter. RTT is often reported only on one
    side or on the connection, so it is taken from wherever it exists; the series are matched
    by time. The result is marked `estimated=True`.
    """
    out: list[Series] = []
    for direction in (Direction.SEND, Direction.RECEIVE):
        own = report.get(Media.AUDIO, direction, Metric.MOS)
        if own is not None and not own.estimated and any(v is not None for v in own.values):
            continue
        loss = _arrays(report.get(Media.AUDIO, direction, Metric.LOSS))
        if loss is None:
            continue
        other = Direction.RECEIVE if direction == Direction.SEND else Direction.SEND
        jitter = _first(report, [(Media.AUDIO, direction)], Metric.JITTER)
        rtt = _first(
            report,
            [
                (Media.AUDIO, direction),
                (Media.AUDIO, other),
                (Media.CONNECTION, direction),
                (Media.CONNECTION, other),
                (Media.VIDEO, direction),
                (Media.VIDEO, other),
            ],
            Metric.RTT,
        )
        if jitter is None and rtt is None:
            continue
        t, loss_v = loss
        values = mos_array(_aligned(t, rtt), _aligned(t, jitter), loss_v)
        out.append(
            Series(
                media=Media.AUDIO,
                direction=direction,
                metric=Metric.MOS,
                times=t.tolist(),
                values=np.round(values, 3).tolist(),
                estimated=True,
            )
        )
    return out
