"""Cloudflare RealtimeKit per-sample stats -> normalized Series, column-wise with numpy.

The producer and consumer lists of a peer report hold one JSON object per track per sample
(an hour sampled every second is 3,600 per list). They stay the plain dicts and lists of the
JSON decoder: each field is read once into a float column (NaN where it is missing, null or
not a number) and every interval is computed on whole columns: a model and a Python loop
per sample would make an hour-long call several times dearer than a short one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from providers.models import Direction, Limitation, Media, Metric, Report, Series

MEDIA = (
    (Media.AUDIO, "audio"),
    (Media.VIDEO, "video"),
    (Media.SCREEN_AUDIO, "screenshare_audio"),
    (Media.SCREEN_VIDEO, "screenshare_video"),
)
SIDES = ((Direction.SEND, "producer"), (Direction.RECEIVE, "consumer"))
# The unit of the samples' `jitter` and `rtt` is not documented; the only latency unit the peer
# report documents is milliseconds, for its cumulative `rtt` and `jitter_buffer_delay` summaries
# ("milliseconds-based thresholds": 100/250/500 ms). WebRTC's getStats measures both in seconds
# and a client may forward them as measured or in ms, so the unit is decided once per report
# from evidence that does not depend on how slow the call was (see `decide_delay_unit`), and
# milliseconds are assumed when nothing in the report can tell. (It is not read off the
# magnitudes: a LAN call's 1 ms RTT in ms looks just like a 1 s RTT in seconds.)
MS, SECONDS = 1.0, 1000.0  # the factor that turns a sample into milliseconds
WORSE_IS_HIGHER = {Metric.LOSS, Metric.JITTER, Metric.RTT, Metric.JITTER_BUFFER}
# Sample fields read as numbers (the official SDK's producer / consumer stats), per side.
NUMERIC = {
    True: ("packets_sent", "bytes_sent", "rtt"),
    False: (
        "packets_received",
        "bytes_received",
        "jitter_buffer_delay",
        "jitter_buffer_emitted_count",
    ),
}
COMMON = (
    "packets_lost",
    "jitter",
    "mos_quality",
    "frame_width",
    "frame_height",
    "frames_per_second",
)
NAN = float("nan")

Columns = dict[Metric, np.ndarray]
Found = list[tuple[Media, Direction, list[float], Columns]]


def when(text: Any) -> datetime | None:
    """ISO 8601 (with `Z`) or epoch seconds/milliseconds; None for anything else."""
    if not text or not isinstance(text, str):
        return None
    try:
        if text.replace(".", "", 1).isdigit():
            value = float(text)
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(stamps: list[Any], seen: dict[str, float]) -> np.ndarray:
    """Unix seconds of each stamp, NaN where it is not a time. `seen` is shared by the lists
    of one report: they all repeat the same sample times, so each is parsed once."""
    out = []
    for text in stamps:
        got = seen.get(text) if type(text) is str else NAN
        if got is None:
            parsed = when(text)
            got = seen[text] = parsed.timestamp() if parsed else NAN
        out.append(got)
    return np.array(out, dtype=float)


def _number(value: Any) -> float:
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except ValueError:
            pass
    return NAN


def _column(rows: list[dict], key: str) -> np.ndarray:
    values = [r.get(key, NAN) for r in rows]
    try:
        out = np.array(values, dtype=float)  # null becomes NaN too
        if out.ndim == 1:
            return out
    except (TypeError, ValueError):
        pass
    return np.array([_number(v) for v in values], dtype=float)


def _deltas(counter: np.ndarray, base: np.ndarray | None = None):
    """Positions of the samples that carry `counter` (and `base`), and the change since the
    previous such sample at each of them but the first."""
    has = ~np.isnan(counter) if base is None else ~(np.isnan(counter) | np.isnan(base))
    at = np.flatnonzero(has)
    return at, at[1:], np.diff(counter[at])


# A counter that starts (first sample of a track) or restarts (ICE restart, reconnect: it
# went down) counted from zero, so its value is the interval's own count. That holds only when
# the value is no bigger than a few ordinary intervals' worth; larger means the counter ran
# before the first sample we have, and that interval stays empty.
FRESH_COUNTER_INTERVALS = 3.0


def _restarts(counter: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Mask over `counter` (the samples that carry it) of those whose value counted from zero:
    the first one and each one after a decrease, when the value looks fresh."""
    fresh = np.zeros(len(counter), bool)
    if not len(counter):
        return fresh
    fresh[0] = True
    fresh[1:] = deltas < 0
    typical = float(np.median(deltas[deltas >= 0])) if (deltas >= 0).any() else np.inf
    return fresh & (counter <= FRESH_COUNTER_INTERVALS * max(typical, 1.0))


def _track(t: np.ndarray, s: dict[str, np.ndarray], send: bool) -> Columns:
    """Per-interval figures of one track (samples in time order). Counters are cumulative
    (WebRTC getStats): each interval is the difference to the previous sample that carried
    the counter. At a track's first sample and after a reset (the counter went down) the
    counter started from zero, so its own value is the interval's count (`_restarts`): loss at
    join or right after a reconnect is kept, not dropped."""
    n = len(t)
    loss, bitrate, jb = np.full(n, NAN), np.full(n, NAN), np.full(n, NAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        packets = s["packets_sent" if send else "packets_received"]
        lost = s["packets_lost"]
        at, now, d_base = _deltas(packets, lost)
        d_lost = np.diff(lost[at])
        # Each sample's own count: the delta, or the counter itself where it counted from zero
        # (a receiver's report of lost packets restarts with the stream it belongs to).
        fresh = _restarts(packets[at], d_base)
        own_base = np.where(fresh, packets[at], np.concatenate(([NAN], d_base)))
        own_lost = np.where(fresh, lost[at], np.concatenate(([NAN], d_lost)))
        # Outbound: lost (reported back by the receiver) is part of what was sent.
        expected = own_base if send else own_base + own_lost
        ok = (own_base >= 0) & (own_lost >= 0) & (expected > 0)
        loss[at[ok]] = np.minimum(100.0, 100.0 * own_lost[ok] / expected[ok])

        at, now, d_bytes = _deltas(s["bytes_sent" if send else "bytes_received"])
        d_t = np.diff(t[at])
        ok = (d_bytes >= 0) & (d_t > 0)
        bitrate[now[ok]] = d_bytes[ok] * 8 / d_t[ok] / 1000

        if not send:
            delay, count = s["jitter_buffer_delay"], s["jitter_buffer_emitted_count"]
            at = np.flatnonzero(~np.isnan(delay) & ~np.isnan(count) & (count != 0))
            d_delay, d_count = np.diff(delay[at]), np.diff(count[at])
            ok = (d_count > 0) & (d_delay >= 0)
            # jitterBufferDelay is total seconds held over all emitted samples.
            jb[at[1:][ok]] = d_delay[ok] / d_count[ok] * 1000
    mos = s["mos_quality"]
    width, height = s["frame_width"], s["frame_height"]
    cols = {
        Metric.LOSS: loss,
        Metric.JITTER: s["jitter"],
        Metric.RTT: s["rtt"] if send else np.full(n, NAN),
        Metric.BITRATE: bitrate,
        Metric.FPS: s["frames_per_second"],
        Metric.WIDTH: np.where(width != 0, width, NAN),
        Metric.HEIGHT: np.where(height != 0, height, NAN),
        Metric.MOS: np.where(mos > 0, mos, NAN),
        Metric.JITTER_BUFFER: jb,
    }
    return {m: cols[m] for m in Metric if m in cols}  # the enum's order, as series are listed


def _combiner(metric: Metric, send: bool) -> Callable:
    if metric in WORSE_IS_HIGHER:
        return np.maximum
    if send and metric == Metric.BITRATE:
        return np.add  # simulcast layers of one camera add up to what was sent
    if send and metric in (Metric.FPS, Metric.WIDTH, Metric.HEIGHT):
        return np.maximum  # the top layer shows what the encoder produced
    return np.minimum


START = {np.maximum: -np.inf, np.minimum: np.inf, np.add: 0.0}


def _merge(tracks: list[tuple[np.ndarray, Columns]], send: bool) -> tuple[np.ndarray, Columns]:
    """Several tracks of one media and side (a consumer per remote peer, simulcast layers) are
    merged by timestamp (to 0.1 s), keeping the worst figure: one series per metric keeps the
    verdict and the chart simple, and the worst stream is the one a user complains about."""
    if len(tracks) == 1:
        return tracks[0]
    stamps = np.concatenate([t for t, _ in tracks]).tolist()
    times, slot = np.unique(np.array([round(x, 1) for x in stamps]), return_inverse=True)
    merged: Columns = {}
    for metric in tracks[0][1]:
        values = np.concatenate([cols[metric] for _, cols in tracks])
        has = ~np.isnan(values)
        pick = _combiner(metric, send)
        out = np.full(len(times), START[pick])
        pick.at(out, slot[has], values[has])  # in track order, like a running sum
        out[np.bincount(slot[has], minlength=len(times)) == 0] = NAN
        merged[metric] = out
    return times, merged


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


def add_series(report: Report, quality: Any) -> None:
    """Append the series and encoder limitations of a raw `Quality` to `report`."""
    seen: dict[str, float] = {}
    # Simulcast layers repeat the encoder's limitation reason: keep one per time, not "none"
    # when any layer names a reason.
    limits: dict[tuple[float, Media], str] = {}
    found: Found = []
    for media, prefix in MEDIA:
        for direction, side in SIDES:
            send = direction == Direction.SEND
            rows = [r for r in getattr(quality, f"{prefix}_{side}") or () if isinstance(r, dict)]
            t = _seconds([r.get("timestamp") for r in rows], seen)
            placed = ~np.isnan(t)
            if not placed.all():
                rows, t = [r for r, ok in zip(rows, placed, strict=True) if ok], t[placed]
            if not rows:
                continue
            if not send:
                for r in rows:
                    peer = r.get("peer_id")
                    if isinstance(peer, str) and peer and peer not in report.senders:
                        report.senders.append(peer)
            if send and media in (Media.VIDEO, Media.SCREEN_VIDEO):
                for at, r in zip(t.tolist(), rows, strict=True):
                    reason = r.get("quality_limitation_reason")
                    if reason and isinstance(reason, str):
                        if limits.get((at, media), "none") == "none":
                            limits[(at, media)] = reason
            tracks = [(t[at], _track(t[at], cols, send)) for at, cols in _by_track(rows, t, send)]
            if len(tracks) > 1 and not send:
                report.notes.append(
                    f"Received {media.value} is the worst of {len(tracks)} streams at each time."
                )
            times, merged = _merge(tracks, send)
            found.append((media, direction, times.tolist(), merged))
    scale, note = decide_delay_unit(found, quality)
    if note:
        report.notes.append(note)
    for media, direction, times, merged in found:
        _append(report, media, direction, times, merged, scale)
    report.limitations = [
        Limitation(media=media, time=t, reason=reason)
        for (t, media), reason in sorted(limits.items())
    ]


def _by_track(rows: list[dict], t: np.ndarray, send: bool):
    """(sample positions in time order, numeric columns) of each track, in order of first
    appearance. A track is its owner (producer, or consumer for what was received) and SSRC."""
    if send:
        keys = [f"{r.get('producer_id') or r.get('mid')}/{r.get('ssrc')}" for r in rows]
    else:
        keys = [
            f"{r.get('consumer_id') or r.get('producer_id') or r.get('peer_id') or r.get('mid')}"
            f"/{r.get('ssrc')}"
            for r in rows
        ]
    cols = {key: _column(rows, key) for key in (*NUMERIC[send], *COMMON)}
    if keys.count(keys[0]) == len(keys):  # the usual case: one track
        groups = {keys[0]: range(len(keys))}
    else:
        groups = {}
        for i, key in enumerate(keys):
            if key in groups:
                groups[key].append(i)
            else:
                groups[key] = [i]
    for members in groups.values():
        at = np.array(members)
        at = at[np.argsort(t[at], kind="stable")]
        yield at, {key: col[at] for key, col in cols.items()}


# --- the unit of jitter and RTT ----------------------------------------------------------------

UNIT_WORDS = {MS: "milliseconds", SECONDS: "seconds (shown in ms)"}
# A reading is ruled out when the provider's own figure is this far from what it implies.
RATIO_FIT = 1.0  # log10: within 10x of the provider's RTT average (the other unit is 1000x off)
FRACTION_FIT, FRACTION_MISS = 0.15, 0.3  # share of samples at or over a latency bucket
MOS_MARGIN = 1.0  # provider MOS above the best an E-model allows for the delay
JITTER_OVER_BUFFER = 5.0  # a jitter buffer holds packets for longer than the jitter it absorbs
MIN_BUFFER_MS = 20.0  # one audio packet: the least a jitter buffer holds
MIN_RTT_MS = 0.1  # light through 10 km of fibre and back: no path to a media server is shorter


def _real(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _unit_name(unit: float) -> str:
    return "milliseconds" if unit == MS else "seconds"


def _g(value: float) -> str:
    return f"{value:.3g}"


def _emodel_ceiling(delay_ms: float) -> float:
    """The best MOS the simplified E-model (G.107) allows for `delay_ms` with no loss."""
    eff = delay_ms + 10
    r = 93.2 - (eff / 40 if eff < 160 else (eff - 120) / 10)
    r = max(0.0, min(100.0, r))
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def _cumulative(quality: Any, media: Media, direction: Direction) -> Any:
    prefix = dict(MEDIA)[media]
    side = dict(SIDES)[direction]
    return getattr(quality, f"{prefix}_{side}_cumulative", None)


def _by_average(found: Found, quality: Any) -> list[tuple[float, str]]:
    """The provider's RTT average (documented in ms) against the samples' mean RTT."""
    out = []
    for media, direction, _, cols in found:
        cum = _cumulative(quality, media, direction)
        avg = getattr(getattr(cum, "rtt", None), "avg", None)
        rtt = _real(cols.get(Metric.RTT, np.array([])))
        if avg is None or avg <= 0 or not len(rtt) or (mean := float(rtt.mean())) <= 0:
            continue
        ratio = np.log10(avg / mean)
        for unit in (MS, SECONDS):
            if abs(ratio - np.log10(unit)) < RATIO_FIT:
                fits = "matches" if unit == MS else "is, in seconds,"
                out.append(
                    (
                        unit,
                        f"the samples' mean {media.value} RTT of {_g(mean)} {fits} the "
                        f"provider's own RTT average of {_g(avg)} ms, a figure the API documents "
                        "in milliseconds",
                    )
                )
    return out


def _by_fractions(found: Found, quality: Any) -> list[tuple[float, str]]:
    """The provider's share of RTT samples at or over 100/250/500 ms against the samples'."""
    out = []
    for media, direction, _, cols in found:
        cum = getattr(_cumulative(quality, media, direction), "rtt", None)
        rtt = _real(cols.get(Metric.RTT, np.array([])))
        if cum is None or not len(rtt):
            continue
        cuts = [(c, f) for c, f in ((100, cum.ms100), (250, cum.ms250), (500, cum.ms500))]
        cuts = [(c, f) for c, f in cuts if f is not None]
        if not cuts:
            continue
        share = {u: [float((rtt * u >= c).mean()) for c, _ in cuts] for u in (MS, SECONDS)}
        miss = {u: max(abs(g - f) for g, (_, f) in zip(share[u], cuts, strict=True)) for u in share}
        for unit, other in ((MS, SECONDS), (SECONDS, MS)):
            if miss[unit] <= FRACTION_FIT and miss[other] >= FRACTION_MISS:
                # Name the bucket where the two readings differ most.
                i = max(range(len(cuts)), key=lambda k: abs(share[MS][k] - share[SECONDS][k]))
                out.append(
                    (
                        unit,
                        f"the provider's share of {media.value} RTT samples at or over "
                        f"{cuts[i][0]} ms ({cuts[i][1]:.0%}) fits the samples read as "
                        f"{_unit_name(unit)} ({share[unit][i]:.0%}), not as "
                        f"{_unit_name(other)} ({share[other][i]:.0%})",
                    )
                )
    return out


def _by_mos(found: Found) -> list[tuple[float, str]]:
    """The provider's audio MOS against the best an E-model allows for the delay each reading
    implies (one-way delay RTT/2 plus jitter, lenient so a MOS that ignores delay still fits
    any reading but an absurd one)."""
    rtts = [_real(c[Metric.RTT]) for _, _, _, c in found if Metric.RTT in c]
    rtt_all = np.concatenate(rtts) if rtts else np.array([])
    rtt = float(np.median(rtt_all)) if len(rtt_all) else 0.0
    out = []
    for media, _, _, cols in found:
        if media not in (Media.AUDIO, Media.SCREEN_AUDIO) or Metric.MOS not in cols:
            continue
        mos = _real(cols[Metric.MOS])
        mos = mos[(mos > 0) & (mos <= 5)]
        jit = _real(cols.get(Metric.JITTER, np.array([])))
        jitter = float(np.median(jit)) if len(jit) else 0.0
        if not len(mos) or (rtt <= 0 and jitter <= 0):
            continue
        median = float(np.median(mos))
        ceiling = {u: _emodel_ceiling((rtt / 2 + jitter) * u) for u in (MS, SECONDS)}
        ruled_out = [u for u in (MS, SECONDS) if median > ceiling[u] + MOS_MARGIN]
        if len(ruled_out) == 1:
            bad = ruled_out[0]
            good = SECONDS if bad == MS else MS
            what = " and ".join(
                f"{name} of {_g(value * bad)} ms"
                for name, value in (("an RTT", rtt), ("a jitter", jitter))
                if value > 0
            )
            out.append(
                (
                    good,
                    f"the provider's {media.value} MOS (median {median:.2f}) is far above the "
                    f"{ceiling[bad]:.2f} that {what}, the samples read as "
                    f"{_unit_name(bad)}, would allow",
                )
            )
    return out


def _by_jitter_buffer(found: Found, quality: Any) -> list[tuple[float, str]]:
    """Received jitter against the provider's jitter-buffer average (documented in ms): a
    buffer holds packets for longer than the jitter it smooths, so jitter read as seconds
    that dwarfs the buffer is not seconds."""
    out = []
    for media, direction, _, cols in found:
        if direction != Direction.RECEIVE or Metric.JITTER not in cols:
            continue
        cum = getattr(_cumulative(quality, media, direction), "jitter_buffer_delay", None)
        avg = getattr(cum, "avg", None)
        jit = _real(cols[Metric.JITTER])
        if avg is None or avg < 0 or not len(jit):
            continue
        jitter = float(np.median(jit))
        limit = JITTER_OVER_BUFFER * max(avg, MIN_BUFFER_MS)
        if jitter * SECONDS > limit >= jitter * MS:
            out.append(
                (
                    MS,
                    f"received {media.value} jitter read as seconds (median "
                    f"{_g(jitter * SECONDS)} ms) would dwarf the provider's average "
                    f"jitter-buffer delay of {_g(avg)} ms, a figure the API documents in "
                    "milliseconds",
                )
            )
    return out


def _by_rtt_floor(found: Found) -> list[tuple[float, str]]:
    rtts = [_real(c[Metric.RTT]) for _, _, _, c in found if Metric.RTT in c]
    rtt = np.concatenate(rtts) if rtts else np.array([])
    rtt = rtt[rtt > 0]
    if not len(rtt) or (median := float(np.median(rtt))) >= MIN_RTT_MS:
        return []
    return [
        (
            SECONDS,
            f"read as milliseconds, the median RTT of {_g(median)} ms would be shorter than "
            "any network round trip to a media server",
        )
    ]


def decide_delay_unit(found: Found, quality: Any) -> tuple[float, str | None]:
    """The factor that turns this report's jitter and RTT samples into ms, and a note that says
    why. Checks run strongest first: the provider's own RTT summary (average, then bucket
    shares), its MOS, its jitter-buffer summary, then the shortest possible RTT. The first
    that tells the units apart decides; any later one that disagrees is named in the note.
    With no evidence the documented unit, milliseconds, is assumed and the note says so."""

    def nonzero(metric: Metric) -> bool:  # zero reads the same in either unit
        return any((_real(c[metric]) != 0).any() for *_, c in found if metric in c)

    has_rtt, has_jitter = nonzero(Metric.RTT), nonzero(Metric.JITTER)
    if not (has_rtt or has_jitter):
        return MS, None
    what = "RTT and jitter" if has_rtt and has_jitter else "RTT" if has_rtt else "Jitter"
    evidence = (
        _by_average(found, quality)
        + _by_fractions(found, quality)
        + _by_mos(found)
        + _by_jitter_buffer(found, quality)
        + _by_rtt_floor(found)
    )
    if not evidence:
        return MS, (
            f"{what} read as milliseconds, the unit the API documents for its own RTT and "
            "jitter-buffer summaries: nothing in this report cross-checks the samples' unit."
        )
    unit, why = evidence[0]
    note = f"{what} read as {UNIT_WORDS[unit]}: {why}."
    against = [text for u, text in evidence[1:] if u != unit]
    if against:
        note += f" Against it: {against[0]}."
    return unit, note


def _append(
    report: Report,
    media: Media,
    direction: Direction,
    times: list[float],
    cols: Columns,
    scale: float,
) -> None:
    for metric, values in cols.items():
        real = values[~np.isnan(values)]
        if not len(real):
            continue
        if metric in (Metric.JITTER, Metric.RTT):
            values = values * scale
        if metric == Metric.MOS and real.max() > 5:
            metric = Metric.SCORE  # not on the 1-5 MOS scale
        report.series.append(
            Series(
                media=media,
                direction=direction,
                metric=metric,
                times=times,
                values=_nullable(values),
            )
        )
