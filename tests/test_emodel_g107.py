"""The G.107 E-model MOS estimate and the estimated MOS series built from a report.

Expected values come from two places, both independent of `bot.grading.emodel`:

* literal numbers worked from the ITU-T G.107 (06/2015) clause 7 equations with the Table 2
  default values, Ie = 0 and Bpl = 25.1 (ITU-T G.113 Appendix I, G.711 with PLC), BurstR = 1,
  A = 0, and the Annex B R-to-MOS mapping; Ta = RTT/2 + 2 * jitter + 26.5 ms;
* `reference_r` below, a plain scalar transcription of those same equations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.grading.emodel import (
    ALIGN_TOLERANCE_S,
    estimate_mos,
    estimate_mos_array,
    estimated_mos,
    one_way_delay_ms,
    r_factor,
    r_to_mos,
)
from providers.models import Direction, Media, Metric, Report, Series

T0 = 1_795_000_000.0


# --- Reference: ITU-T G.107 (06/2015) clause 7, Table 2 defaults, written out term by term. ---


def reference_r(ta: float, ppl: float) -> float:
    slr, rlr, stmr, lstr, ds = 8.0, 2.0, 15.0, 18.0, 3.0
    telr, wepl, qdu = 65.0, 110.0, 1.0
    nc, nfor, ps, pr = -70.0, -64.0, 35.0, 35.0
    ie, bpl, burst_r, a = 0.0, 25.1, 1.0, 0.0
    t, tr = ta, 2.0 * ta  # talker echo path = one-way delay; listener echo = round trip

    # 7.1 Basic signal-to-noise ratio
    olr = slr + rlr
    nos = ps - slr - ds - 100 + 0.004 * (ps - olr - ds - 14) ** 2
    pre = pr + 10 * math.log10(1 + 10 ** ((10 - lstr) / 10))
    nor = rlr - 121 + pre + 0.008 * (pre - 35) ** 2
    nfo = nfor + rlr
    no = 10 * math.log10(10 ** (nc / 10) + 10 ** (nos / 10) + 10 ** (nor / 10) + 10 ** (nfo / 10))
    ro = 15 - 1.5 * (slr + no)

    # 7.2 Simultaneous impairment factor
    xolr = olr + 0.2 * (64 + no - rlr)
    iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)
    stmro = -10 * math.log10(10 ** (-stmr / 10) + math.exp(-t / 4) * 10 ** (-telr / 10))
    ist = (
        12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8)
        - 28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35)
        - 13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13)
        + 29
    )
    q = 37 - 15 * math.log10(qdu)
    g = 1.07 + 0.258 * q + 0.0602 * q**2
    y = (ro - 100) / 15 + 46 / 8.4 - g / 9
    z = 46 / 30 - g / 40
    iq = 15 * math.log10(1 + 10**y + 10**z)
    is_ = iolr + ist + iq

    # 7.3 Delay impairment factor
    roe = -1.5 * (no - rlr)
    terv = telr - 40 * math.log10((1 + t / 10) / (1 + t / 150)) + 6 * math.exp(-0.3 * t**2)
    re = 80 + 2.5 * (terv - 14)
    idte = ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-t))
    rle = 10.5 * (wepl + 7) * (tr + 1) ** (-0.25)
    idle = (ro - rle) / 2 + math.sqrt((ro - rle) ** 2 / 4 + 169)
    if ta > 100:
        x = math.log10(ta / 100) / math.log10(2)
        idd = 25 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
    else:
        idd = 0.0
    id_ = idte + idle + idd

    # 7.4 Effective equipment impairment factor
    ie_eff = ie + (95 - ie) * ppl / (ppl / burst_r + bpl)

    return ro - is_ - id_ - ie_eff + a


def reference_mos(r: float) -> float:
    """Annex B, then held to 1.0 .. 4.5 (the cubic dips below 1 for small positive R)."""
    if r < 0:
        return 1.0
    if r > 100:
        return 4.5
    return min(4.5, max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)))


# --- Worked table ---

# One-way delay Ta (ms), random loss (%) -> R, MOS. Worked from G.107 clause 7 / Annex B.
# E.g. Ta = 0: Ro 94.77 - Is 1.41 - Idle 0.15 = 93.21; Ta = 200: Idte 3.57, Idle 0.94,
# Idd 3.04; loss 1 %: Ie,eff = 95 * 1 / (1 + 25.1) = 3.64; loss 20 %: 95 * 20 / 45.1 = 42.13.
ONE_WAY_TABLE = [
    (0, 0, 93.21, 4.409),
    (0, 1, 89.57, 4.328),
    (0, 5, 77.43, 3.923),
    (0, 20, 51.08, 2.632),
    (25, 0, 92.39, 4.393),
    (50, 0, 91.76, 4.380),
    (100, 0, 90.66, 4.355),
    (100, 5, 74.88, 3.817),
    (150, 0, 89.54, 4.328),
    (200, 0, 85.80, 4.223),
    (200, 1, 82.16, 4.103),
    (250, 0, 79.18, 3.993),
    (300, 0, 72.67, 3.719),
    (300, 5, 56.89, 2.938),
    (400, 0, 62.25, 3.216),
    (400, 20, 20.12, 1.255),
    (500, 0, 54.80, 2.828),
    (600, 0, 49.48, 2.548),
    (700, 0, 45.64, 2.348),
    (800, 0, 42.82, 2.204),
    (800, 5, 27.04, 1.491),
    (800, 20, 0.69, 1.000),
]

# RTT (ms), jitter (ms), loss (%) -> Ta = RTT/2 + 2 jitter + 26.5, R, MOS.
RTT_TABLE = [
    (0, 0, 0, 26.5, 92.35, 4.392),
    (50, 0, 0, 51.5, 91.72, 4.379),
    (100, 0, 0, 76.5, 91.16, 4.366),
    (200, 0, 0, 126.5, 90.13, 4.342),
    (300, 0, 0, 176.5, 88.11, 4.290),
    (400, 0, 0, 226.5, 82.40, 4.111),
    (600, 0, 0, 326.5, 69.56, 3.577),
    (800, 0, 0, 426.5, 60.02, 3.101),
    (1200, 0, 0, 626.5, 48.34, 2.488),
    (1600, 0, 0, 826.5, 42.20, 2.173),
    (100, 10, 0, 96.5, 90.74, 4.357),
    (100, 20, 0, 116.5, 90.33, 4.347),
    (100, 50, 0, 176.5, 88.11, 4.290),
    (100, 100, 0, 276.5, 75.63, 3.849),
    (100, 10, 0.5, 96.5, 88.88, 4.311),
    (100, 10, 1, 96.5, 87.10, 4.262),
    (100, 10, 2, 96.5, 83.72, 4.157),
    (100, 10, 5, 96.5, 74.95, 3.820),
    (100, 10, 10, 96.5, 63.67, 3.288),
    (100, 10, 20, 96.5, 48.61, 2.502),
    (0, 0, 1, 26.5, 88.71, 4.306),
    (0, 0, 20, 26.5, 50.22, 2.587),
    (400, 50, 5, 326.5, 53.78, 2.774),
    # R 6.22: the Annex B cubic gives 0.998 here, held at 1.0.
    (800, 100, 20, 626.5, 6.22, 1.000),
    (1600, 100, 20, 1026.5, -3.42, 1.000),
]


@pytest.mark.parametrize(("ta", "loss", "r", "mos"), ONE_WAY_TABLE)
def test_worked_table_by_one_way_delay(ta, loss, r, mos):
    assert r_factor(ta, loss) == pytest.approx(r, abs=0.006)
    assert r_to_mos(r_factor(ta, loss)) == pytest.approx(mos, abs=6e-4)


@pytest.mark.parametrize(("rtt", "jitter", "loss", "ta", "r", "mos"), RTT_TABLE)
def test_worked_table_by_rtt_jitter_and_loss(rtt, jitter, loss, ta, r, mos):
    assert one_way_delay_ms(rtt, jitter) == pytest.approx(ta)
    assert r_factor(ta, loss) == pytest.approx(r, abs=0.006)
    assert estimate_mos(rtt, jitter, loss) == pytest.approx(mos, abs=6e-4)


def test_zero_delay_and_loss_is_the_default_rating_93_2():
    assert r_factor(0, 0) == pytest.approx(93.2, abs=0.01)
    assert r_to_mos(r_factor(0, 0)) == pytest.approx(4.41, abs=0.005)


def test_rtt_counts_half_as_one_way_delay():
    # 400 ms round trip alone: the issue expects "about 4.2". 200 ms one way gives 4.22; with
    # the 26.5 ms codec delay on top (Ta = 226.5 ms) it is 4.11. Counting the whole RTT as
    # one-way delay (426.5 ms) would give 3.10.
    assert r_to_mos(r_factor(200, 0)) == pytest.approx(4.22, abs=0.005)
    assert estimate_mos(400, 0, 0) == pytest.approx(4.2, abs=0.1)
    assert estimate_mos(400, 0, 0) > r_to_mos(r_factor(400 + 26.5, 0)) + 1.0


def test_matches_the_reference_equations_on_a_grid():
    for ta in np.arange(0.0, 1001.0, 12.5):
        for loss in (0.0, 0.1, 0.5, 1.0, 3.0, 7.5, 15.0, 20.0, 50.0, 100.0):
            assert r_factor(ta, loss) == pytest.approx(reference_r(ta, loss), abs=1e-9)
    for rtt in (0, 40, 147, 148, 250, 400, 900, 1600):
        for jitter in (0, 3, 10, 30, 60, 100):
            for loss in (0, 0.5, 2, 10, 20):
                ta = rtt / 2 + 2 * jitter + 26.5
                expected = reference_mos(reference_r(ta, loss))
                assert estimate_mos(rtt, jitter, loss) == pytest.approx(expected, abs=1e-9)


def test_delay_impairment_close_to_the_published_closed_form_up_to_300_ms():
    # Cole & Rosenbluth (ACM SIGCOMM CCR, 2001) fitted Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)
    # to G.107 with the default echo parameters; it tracks the full formulas up to ~300 ms.
    for ta in range(0, 301, 10):
        closed = 0.024 * ta + 0.11 * max(0.0, ta - 177.3)
        assert r_factor(0, 0) - r_factor(ta, 0) == pytest.approx(closed, abs=1.0)


# --- Clamping, monotonicity, missing inputs ---


def test_r_to_mos_is_held_to_1_and_4_5():
    assert r_to_mos(-50) == 1.0
    assert r_to_mos(0) == 1.0
    assert r_to_mos(3) == 1.0  # the cubic is 0.989 here
    assert r_to_mos(100) == pytest.approx(4.5)
    assert r_to_mos(120) == 4.5
    assert r_to_mos(80) == pytest.approx(4.024, abs=5e-4)
    assert math.isnan(r_to_mos(math.nan))


def test_estimate_stays_within_1_and_4_5():
    grid = np.array(
        np.meshgrid(
            [0, 100, 400, 1000, 5000, 1e6],
            [0, 50, 500, 1e4],
            [0, 1, 20, 60, 100, 250],
        )
    ).reshape(3, -1)
    got = estimate_mos_array(*grid)
    assert got.min() >= 1.0 and got.max() <= 4.5
    assert estimate_mos(1e6, 1e4, 100) == 1.0
    assert estimate_mos(0, 0, 0) < 4.5


def test_out_of_range_inputs_are_held_to_range():
    assert estimate_mos(-20, -5, -1) == estimate_mos(0, 0, 0)
    assert estimate_mos(100, 10, 250) == estimate_mos(100, 10, 100)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_mos_never_rises_as_any_input_grows(axis):
    steps = {
        0: np.linspace(0, 2000, 401),
        1: np.linspace(0, 200, 401),
        2: np.linspace(0, 30, 401),
    }
    base = [150.0, 15.0, 1.0]
    args = [np.full(401, v) for v in base]
    args[axis] = steps[axis]
    mos = estimate_mos_array(*args)
    assert np.all(np.diff(mos) <= 0)
    assert mos[0] > mos[-1]


def test_r_falls_strictly_with_delay_and_loss():
    delays = np.linspace(0, 1000, 201)
    assert np.all(np.diff([r_factor(d, 0) for d in delays]) < 0)
    losses = np.linspace(0, 100, 201)
    assert np.all(np.diff([r_factor(100, p) for p in losses]) < 0)


@pytest.mark.parametrize("args", [(math.nan, 10, 1), (100, math.nan, 1), (100, 10, math.nan)])
def test_missing_input_gives_no_estimate(args):
    assert math.isnan(estimate_mos(*args))
    assert np.isnan(estimate_mos_array(*args))


# --- Vectorised == scalar ---


def test_vectorised_equals_scalar():
    rtt = [0.0, 1.0, 52.0, 147.0, 148.0, 300.0, 400.0, 999.0, 1600.0, -10.0, math.nan, 80.0]
    jitter = [0.0, 0.5, 4.0, 0.0, 0.0, 20.0, 0.0, 80.0, 100.0, 5.0, 3.0, math.nan]
    loss = [0.0, 0.01, 0.3, 1.0, 0.0, 5.0, 0.0, 20.0, 20.0, -1.0, 0.0, 2.0]
    grid_rtt, grid_jitter, grid_loss = (
        np.array(np.meshgrid(rtt, jitter, loss)).reshape(3, -1).tolist()
    )
    for r, j, p in [*zip(rtt, jitter, loss, strict=True), (1.0, 2.0, 3.0)]:
        grid_rtt.append(r)
        grid_jitter.append(j)
        grid_loss.append(p)
    got = estimate_mos_array(np.array(grid_rtt), np.array(grid_jitter), np.array(grid_loss))
    expected = [estimate_mos(*a) for a in zip(grid_rtt, grid_jitter, grid_loss, strict=True)]
    # Equal up to the last bit or two (numpy may evaluate array maths in a different order).
    np.testing.assert_allclose(got, np.array(expected), rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(got).sum() == np.isnan(expected).sum() > 0


def test_vectorised_broadcasts_and_keeps_shape():
    loss = np.array([[0.0, 1.0], [5.0, math.nan]])
    got = estimate_mos_array(200.0, 10.0, loss)
    assert got.shape == (2, 2)
    assert got[0, 1] == estimate_mos(200.0, 10.0, 1.0)
    assert np.isnan(got[1, 1])
    assert estimate_mos_array([400], [0], [0]).tolist() == [estimate_mos(400, 0, 0)]


# --- estimated_mos on a report ---


def series(metric, values, media=Media.AUDIO, direction=Direction.RECEIVE, times=None, **kw):
    return Series(
        media=media,
        direction=direction,
        metric=metric,
        times=times if times is not None else [T0 + 5.0 * i for i in range(len(values))],
        values=list(values),
        **kw,
    )


def at(*offsets):
    return [T0 + o for o in offsets]


def test_estimated_mos_on_aligned_samples_uses_rtt_from_the_other_side():
    report = Report(
        provider="acme",
        series=[
            series(Metric.LOSS, [0.0, 10.0, 0.0]),
            series(Metric.JITTER, [5.0, 5.0, 5.0]),
            series(Metric.RTT, [55.0, 55.0, 55.0], direction=Direction.SEND),
        ],
    )
    [got] = estimated_mos(report)
    assert (got.media, got.direction, got.metric, got.estimated) == (
        Media.AUDIO,
        Direction.RECEIVE,
        Metric.MOS,
        True,
    )
    assert got.times == at(0, 5, 10)
    assert got.values == [
        round(estimate_mos(55, 5, 0), 3),
        round(estimate_mos(55, 5, 10), 3),
        round(estimate_mos(55, 5, 0), 3),
    ]
    # Worked: Ta = 27.5 + 10 + 26.5 = 64 ms -> R 91.43 -> MOS 4.3725, stored to 3 decimals.
    assert got.values[0] == pytest.approx(4.373, abs=1e-3)


def test_estimated_mos_on_misaligned_samples_leaves_gaps_not_zeros():
    report = Report(
        provider="acme",
        series=[
            series(Metric.LOSS, [1.0, 2.0, 3.0, 4.0, None], times=at(0, 60, 120, 180, 300)),
            series(Metric.JITTER, [10.0, 20.0, 30.0, 40.0], times=at(0, 60, 120, 240)),
            series(Metric.RTT, [100.0, 300.0, 500.0], times=at(10, 130, 185)),
        ],
    )
    [got] = estimated_mos(report)
    assert got.times == at(0, 60, 120, 180, 300)
    assert got.values == [
        round(estimate_mos(100, 10, 1), 3),  # RTT 10 s away
        None,  # nearest RTT 50 s away
        round(estimate_mos(300, 30, 3), 3),
        None,  # nearest jitter 60 s away
        None,  # no loss in this sample
    ]


def test_alignment_tolerance_is_inclusive():
    def report(rtt_offset):
        return Report(
            provider="acme",
            series=[
                series(Metric.LOSS, [1.0], times=at(0)),
                series(Metric.JITTER, [5.0], times=at(0)),
                series(Metric.RTT, [80.0], times=at(rtt_offset)),
            ],
        )

    [inside] = estimated_mos(report(ALIGN_TOLERANCE_S))
    assert inside.values == [round(estimate_mos(80, 5, 1), 3)]
    assert estimated_mos(report(ALIGN_TOLERANCE_S + 0.5)) == []  # nothing to estimate at all


def test_estimated_mos_rtt_preference_and_both_directions():
    report = Report(
        provider="acme",
        series=[
            series(Metric.LOSS, [0.0, 1.0]),
            series(Metric.JITTER, [5.0, 5.0]),
            series(Metric.RTT, [None, None]),  # own audio RTT present but empty: skipped
            series(Metric.RTT, [120.0, 120.0], media=Media.CONNECTION),
            series(Metric.RTT, [999.0, 999.0], media=Media.VIDEO),
            series(Metric.LOSS, [2.0, 2.0], direction=Direction.SEND),
            series(Metric.JITTER, [8.0, 8.0], direction=Direction.SEND),
        ],
    )
    send, receive = estimated_mos(report)
    assert (send.direction, receive.direction) == (Direction.SEND, Direction.RECEIVE)
    assert receive.values == [round(estimate_mos(120, 5, p), 3) for p in (0.0, 1.0)]
    # The send side has no RTT of its own: the connection's (receive) is the best there is.
    assert send.values == [round(estimate_mos(120, 8, 2), 3)] * 2


def test_no_estimate_where_the_provider_sent_mos_or_an_input_is_absent():
    loss, jitter, rtt = (
        series(Metric.LOSS, [1.0, 2.0]),
        series(Metric.JITTER, [5.0, 5.0]),
        series(Metric.RTT, [50.0, 50.0]),
    )
    provider_mos = Report(provider="acme", series=[series(Metric.MOS, [4.2]), loss, jitter, rtt])
    no_jitter = Report(provider="acme", series=[loss, rtt])
    no_rtt = Report(provider="acme", series=[loss, jitter])
    no_loss = Report(provider="acme", series=[jitter, rtt])
    empty_jitter = Report(provider="acme", series=[loss, rtt, series(Metric.JITTER, [None])])
    for report in (provider_mos, no_jitter, no_rtt, no_loss, empty_jitter):
        assert estimated_mos(report) == []


def test_an_earlier_estimate_does_not_block_a_new_one():
    report = Report(
        provider="acme",
        series=[
            series(Metric.MOS, [3.0], estimated=True),
            series(Metric.LOSS, [0.0]),
            series(Metric.JITTER, [0.0]),
            series(Metric.RTT, [0.0]),
        ],
    )
    [got] = estimated_mos(report)
    assert got.values == [round(estimate_mos(0, 0, 0), 3)]
