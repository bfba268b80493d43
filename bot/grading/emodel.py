"""ITU-T G.107 E-model: estimate an audio MOS from RTT, jitter and packet loss.

Used where a provider sends no MOS of its own. The transmission rating factor follows
ITU-T G.107 (06/2015) clause 7 with the default values of its Table 2 for everything a call
report cannot tell us (loudness ratings, room noise, echo paths); only the delay and the packet
loss come from the measurements.

    R   = Ro - Is - Id - Ie,eff + A                                   (clause 7)

One-way delay
-------------
G.107 wants the mean one-way (mouth-to-ear) delay Ta, not the round trip. WebRTC reports the
network round trip (RTCP or ICE candidate-pair RTT) and nothing one-way, and a call's paths are
near enough symmetric, so the network share of Ta is RTT / 2. Counting the whole RTT charges
the delay twice. To that we add what the endpoints hold the audio for:

    Ta = RTT / 2 + 2 * jitter + 26.5 ms

* ``2 * jitter`` (`JITTER_BUFFER_FACTOR`): the playout (jitter) buffer. The jitter a provider
  reports is the RFC 3550 interarrival jitter, a smoothed mean deviation of packet transit time;
  an adaptive buffer holds a few such deviations so that late packets are still played out.
  Two deviations is the usual planning figure (it is also what the earlier PingPlotter-style
  estimate used) and keeps the estimate comparable with it.
* ``26.5 ms`` (`CODEC_DELAY_MS`): packetization and codec delay of Opus at the WebRTC default
  of 20 ms frames: the 20 ms frame plus 6.5 ms look-ahead, the "26.5 ms by default" algorithmic
  delay of Opus (RFC 6716, opus-codec.org).

Basic signal-to-noise ratio Ro and simultaneous impairment Is (clauses 7.1, 7.2)
-------------------------------------------------------------------------------
Computed once from the Table 2 defaults: SLR 8 dB, RLR 2 dB, STMR 15 dB, LSTR 18 dB
(STMR + Dr with Dr 3), Ds 3, Nc -70 dBm0p, Nfor -64 dBmp, Ps = Pr = 35 dB(A), qdu 1:

    Nos = Ps - SLR - Ds - 100 + 0.004 (Ps - OLR - Ds - 14)^2,   OLR = SLR + RLR
    Pre = Pr + 10 log10(1 + 10^((10 - LSTR)/10))
    Nor = RLR - 121 + Pre + 0.008 (Pre - 35)^2
    Nfo = Nfor + RLR
    No  = 10 log10(10^(Nc/10) + 10^(Nos/10) + 10^(Nor/10) + 10^(Nfo/10))     = -61.18
    Ro  = 15 - 1.5 (SLR + No)                                                 = 94.77
    Is  = Iolr + Ist + Iq                                                     = 1.41
    Iolr = 20 [(1 + (Xolr/8)^8)^(1/8) - Xolr/8],   Xolr = OLR + 0.2 (64 + No - RLR)
    Ist  = 12 [1 + ((STMRo-13)/6)^8]^(1/8) - 28 [1 + ((STMRo+1)/19.4)^35]^(1/35)
           - 13 [1 + ((STMRo-3)/33)^13]^(1/13) + 29
    STMRo = -10 log10(10^(-STMR/10) + e^(-T/4) 10^(-TELR/10))
    Iq  = 15 log10(1 + 10^Y + 10^Z),  Y = (Ro-100)/15 + 46/8.4 - G/9,  Z = 46/30 - G/40,
    G   = 1.07 + 0.258 Q + 0.0602 Q^2,  Q = 37 - 15 log10(qdu)

Delay impairment Id (clause 7.3), the full formulas
--------------------------------------------------
Id = Idte + Idle + Idd with the echo defaults TELR 65 dB and WEPL 110 dB. The talker echo path
delay is taken as T = Ta and the listener echo round trip as Tr = 2 T:

    Idte = [(Roe - Re)/2 + sqrt((Roe - Re)^2/4 + 100) - 1] (1 - e^(-T))
    Roe  = -1.5 (No - RLR),   Re = 80 + 2.5 (TERV - 14)
    TERV = TELR - 40 log10((1 + T/10)/(1 + T/150)) + 6 e^(-0.3 T^2)
    Idle = (Ro - Rle)/2 + sqrt((Ro - Rle)^2/4 + 169),   Rle = 10.5 (WEPL + 7)(Tr + 1)^(-1/4)
    Idd  = 0                                                   for Ta <= 100 ms
    Idd  = 25 {(1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2}   for Ta > 100 ms,
    X    = log10(Ta/100) / log10(2)

(Idd as written is the general form with the default delay sensitivity sT = 1 and minimum
perceivable delay mT = 100 ms. The STMR < 9 dB and STMR > 20 dB variants of Idte do not apply
at STMR 15 dB.) With all delays zero this gives R = 94.77 - 1.41 - 0.15 = 93.2, the
well-known default rating.

Effective equipment impairment Ie,eff (clause 7.4)
--------------------------------------------------
    Ie,eff = Ie + (95 - Ie) Ppl / (Ppl/BurstR + Bpl),   BurstR = 1 (random loss)

Ie = 0 and Bpl = 25.1 are the ITU-T G.113 Appendix I planning values for G.711 with the
packet-loss concealment of G.711 Appendix I under random loss. WebRTC calls carry Opus, for
which no ITU-T Ie/Bpl values are standardised (and no published values are relied on here), so
G.711 with PLC stands in: it is the reference the Table 2 defaults and R = 93.2 assume.

Advantage factor A = 0 (clause 7.5): no allowance for mobility or access.

R to MOS (Annex B)
------------------
    MOS = 1                                                 for R < 0
    MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)            for 0 <= R <= 100
    MOS = 4.5                                               for R > 100

The cubic dips just below 1 for small positive R, so the result is clamped to 1.0 .. 4.5.
"""

from __future__ import annotations

import math

import numpy as np

from providers.models import Direction, Media, Metric, Report, Series

# ITU-T G.107 (06/2015) Table 2 default values.
SLR = 8.0  # send loudness rating, dB
RLR = 2.0  # receive loudness rating, dB
STMR = 15.0  # sidetone masking rating, dB
DR = 3.0  # D-value of telephone, receive side
LSTR = STMR + DR  # listener sidetone rating, dB (18)
DS = 3.0  # D-value of telephone, send side
TELR = 65.0  # talker echo loudness rating, dB
WEPL = 110.0  # weighted echo path loss, dB
QDU = 1.0  # quantizing distortion units
NC = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
NFOR = -64.0  # noise floor at the receive side, dBmp
PS = 35.0  # room noise at the send side, dB(A)
PR = 35.0  # room noise at the receive side, dB(A)
A = 0.0  # advantage factor
BURST_R = 1.0  # burst ratio: 1 = random loss
MIN_PERCEIVABLE_DELAY_MS = 100.0  # mT; Idd is zero up to here (delay sensitivity sT = 1)

# ITU-T G.113 Appendix I: G.711 with Appendix I PLC, random loss.
IE = 0.0  # equipment impairment factor
BPL = 25.1  # packet-loss robustness factor

# One-way delay from what a call report carries (see the module docstring).
JITTER_BUFFER_FACTOR = 2.0  # playout buffer = this many times the reported jitter
CODEC_DELAY_MS = 26.5  # Opus, 20 ms frame + 6.5 ms look-ahead (RFC 6716 default)

# Samples of the jitter and RTT series are matched to a loss sample when at most this far
# apart; past that the sample gets no estimate.
ALIGN_TOLERANCE_S = 30.0


def _constant_terms() -> tuple[float, float, float, float]:
    """No, Ro, Iolr + Iq and Roe from the Table 2 defaults (clauses 7.1, 7.2, 7.3)."""
    olr = SLR + RLR
    nos = PS - SLR - DS - 100.0 + 0.004 * (PS - olr - DS - 14.0) ** 2
    pre = PR + 10.0 * math.log10(1.0 + 10.0 ** ((10.0 - LSTR) / 10.0))
    nor = RLR - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
    nfo = NFOR + RLR
    no = 10.0 * math.log10(
        10.0 ** (NC / 10.0) + 10.0 ** (nos / 10.0) + 10.0 ** (nor / 10.0) + 10.0 ** (nfo / 10.0)
    )
    ro = 15.0 - 1.5 * (SLR + no)
    xolr = olr + 0.2 * (64.0 + no - RLR)
    iolr = 20.0 * ((1.0 + (xolr / 8.0) ** 8) ** (1.0 / 8.0) - xolr / 8.0)
    q = 37.0 - 15.0 * math.log10(QDU)
    g = 1.07 + 0.258 * q + 0.0602 * q**2
    y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
    z = 46.0 / 30.0 - g / 40.0
    iq = 15.0 * math.log10(1.0 + 10.0**y + 10.0**z)
    roe = -1.5 * (no - RLR)
    return no, ro, iolr + iq, roe


NO, RO, _IOLR_PLUS_IQ, _ROE = _constant_terms()


def _sidetone_impairment(t: np.ndarray) -> np.ndarray:
    """Ist; depends on the echo path delay T only through STMRo (negligible past ~10 ms)."""
    stmro = -10.0 * np.log10(10.0 ** (-STMR / 10.0) + np.exp(-t / 4.0) * 10.0 ** (-TELR / 10.0))
    return (
        12.0 * (1.0 + ((stmro - 13.0) / 6.0) ** 8) ** (1.0 / 8.0)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4) ** 35) ** (1.0 / 35.0)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0) ** 13) ** (1.0 / 13.0)
        + 29.0
    )


def _delay_impairment(ta: np.ndarray) -> np.ndarray:
    """Id = Idte + Idle + Idd for one-way delay Ta, with T = Ta and Tr = 2 Ta."""
    t = ta
    tr = 2.0 * ta
    terv = TELR - 40.0 * np.log10((1.0 + t / 10.0) / (1.0 + t / 150.0)) + 6.0 * np.exp(-0.3 * t**2)
    re = 80.0 + 2.5 * (terv - 14.0)
    d = _ROE - re
    idte = (d / 2.0 + np.sqrt(d**2 / 4.0 + 100.0) - 1.0) * (1.0 - np.exp(-t))
    rle = 10.5 * (WEPL + 7.0) * (tr + 1.0) ** -0.25
    e = RO - rle
    idle = e / 2.0 + np.sqrt(e**2 / 4.0 + 169.0)
    x = np.log2(np.maximum(ta, MIN_PERCEIVABLE_DELAY_MS) / MIN_PERCEIVABLE_DELAY_MS)
    idd = 25.0 * ((1.0 + x**6) ** (1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0) ** 6) ** (1.0 / 6.0) + 2.0)
    idd = np.where(ta > MIN_PERCEIVABLE_DELAY_MS, idd, 0.0)
    return idte + idle + idd


def _r(ta: np.ndarray, ppl: np.ndarray) -> np.ndarray:
    ta = np.clip(ta, 0.0, None)
    ppl = np.clip(ppl, 0.0, 100.0)
    is_ = _IOLR_PLUS_IQ + _sidetone_impairment(ta)
    ie_eff = IE + (95.0 - IE) * ppl / (ppl / BURST_R + BPL)
    return RO - is_ - _delay_impairment(ta) - ie_eff + A


def _mos(r: np.ndarray) -> np.ndarray:
    cubic = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    mos = np.where(r < 0.0, 1.0, np.where(r > 100.0, 4.5, cubic))
    return np.clip(mos, 1.0, 4.5)


def one_way_delay_ms(rtt_ms: float, jitter_ms: float) -> float:
    """Ta: half the round trip, plus the jitter buffer and the codec delay."""
    return rtt_ms / 2.0 + JITTER_BUFFER_FACTOR * jitter_ms + CODEC_DELAY_MS


def r_factor(one_way_delay_ms: float, loss_pct: float) -> float:
    """G.107 transmission rating R for a one-way delay Ta (ms) and random loss (%), unclamped.

    Negative delays count as 0 and loss is held to 0..100 %.
    """
    return float(_r(np.asarray(one_way_delay_ms, float), np.asarray(loss_pct, float)))


def r_to_mos(r: float) -> float:
    """G.107 Annex B mapping from R to MOS, clamped to 1.0 .. 4.5 (NaN stays NaN)."""
    if math.isnan(r):
        return math.nan
    return float(_mos(np.asarray(r, float)))


def estimate_mos(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """Estimated MOS (1.0 .. 4.5) for one sample; NaN if any input is NaN."""
    if any(math.isnan(v) for v in (rtt_ms, jitter_ms, loss_pct)):
        return math.nan
    ta = one_way_delay_ms(max(rtt_ms, 0.0), max(jitter_ms, 0.0))
    return r_to_mos(r_factor(ta, loss_pct))


def estimate_mos_array(rtt_ms, jitter_ms, loss_pct) -> np.ndarray:
    """`estimate_mos` element-wise over array-likes (broadcast); NaN where any input is NaN."""
    rtt = np.asarray(rtt_ms, dtype=float)
    jitter = np.asarray(jitter_ms, dtype=float)
    loss = np.asarray(loss_pct, dtype=float)
    ta = one_way_delay_ms(np.clip(rtt, 0.0, None), np.clip(jitter, 0.0, None))
    mos = _mos(_r(ta, loss))
    return np.where(np.isnan(rtt) | np.isnan(jitter) | np.isnan(loss), np.nan, mos)


def _arrays(series: Series | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(times, values) of the samples that carry a value; None when there are none."""
    if series is None or not series.values:
        return None
    n = min(len(series.times), len(series.values))
    v = np.array(series.values[:n], dtype=float)  # None -> nan
    t = np.asarray(series.times[:n], dtype=float)
    keep = ~np.isnan(v)
    if not keep.any():
        return None
    order = np.argsort(t[keep], kind="stable")
    return t[keep][order], v[keep][order]


def _aligned(at: np.ndarray, source: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The `source` value nearest in time to each of `at`; NaN where none is close enough."""
    t, v = source
    if len(t) == 1:
        idx = np.zeros(len(at), dtype=int)
    else:
        right = np.clip(np.searchsorted(t, at), 1, len(t) - 1)
        left = right - 1
        idx = np.where(np.abs(t[left] - at) <= np.abs(t[right] - at), left, right)
    return np.where(np.abs(t[idx] - at) <= ALIGN_TOLERANCE_S, v[idx], np.nan)


def _first(report: Report, candidates: list[tuple[Media, Direction]], metric: Metric):
    for media, direction in candidates:
        got = _arrays(report.get(media, direction, metric))
        if got is not None:
            return got
    return None


def estimated_mos(report: Report) -> list[Series]:
    """Estimated audio MOS per direction where the provider sent none.

    Each sample of the direction's audio loss series gets an estimate when a jitter sample
    (same direction, audio) and an RTT sample are each within `ALIGN_TOLERANCE_S` of it;
    otherwise its value is None. RTT is often reported on one side only or on the connection,
    so it is taken from the first of: own audio, the other direction's audio, connection,
    video. With no loss, no jitter or no RTT at all, or no sample that can be estimated, the
    direction gets no series. The result is marked `estimated=True`.
    """
    out: list[Series] = []
    for direction in (Direction.SEND, Direction.RECEIVE):
        own = report.get(Media.AUDIO, direction, Metric.MOS)
        if own is not None and not own.estimated and any(v is not None for v in own.values):
            continue
        loss_series = report.get(Media.AUDIO, direction, Metric.LOSS)
        if _arrays(loss_series) is None:
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
        if jitter is None or rtt is None:
            continue
        n = min(len(loss_series.times), len(loss_series.values))
        times = np.asarray(loss_series.times[:n], dtype=float)
        loss = np.array(loss_series.values[:n], dtype=float)
        mos = estimate_mos_array(_aligned(times, rtt), _aligned(times, jitter), loss)
        if np.isnan(mos).all():
            continue
        values = [None if math.isnan(m) else round(float(m), 3) for m in mos]
        out.append(
            Series(
                media=Media.AUDIO,
                direction=direction,
                metric=Metric.MOS,
                times=times.tolist(),
                values=values,
                estimated=True,
            )
        )
    return out
