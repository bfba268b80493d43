"""The simplified E-model and the estimated MOS series built from a report."""

from __future__ import annotations

import numpy as np
import pytest

from bot import emodel
from providers.models import Direction, Media, Metric, Report, Series

T0 = 1_795_000_000.0


def series(metric, values, media=Media.AUDIO, direction=Direction.RECEIVE, step=5.0, start=T0):
    return Series(
        media=media,
        direction=direction,
        metric=metric,
        times=[start + i * step for i in range(len(values))],
        values=list(values),
    )


@pytest.mark.parametrize(
    ("r", "expected"),
    [(90, 4.34), (80, 4.03), (70, 3.60), (60, 3.10), (50, 2.58)],
)
def test_r_to_mos_known_values(r, expected):
    # The published table rounds R 80 (4.024) up to 4.03: hence the 0.01 tolerance.
    assert emodel.r_to_mos(r) == pytest.approx(expected, abs=0.01)


def test_r_to_mos_is_clamped():
    assert (emodel.r_to_mos(-5), emodel.r_to_mos(0), emodel.r_to_mos(120)) == (1.0, 1.0, 4.5)


def test_r_factor_below_and_above_the_latency_knee():
    # 55 + 2*5 + 10 = 75 ms effective latency: 93.2 - 75/40 - 2.5*0.2
    assert emodel.r_factor(55, 5, 0.2) == pytest.approx(90.825)
    # 300 + 0 + 10 = 310 ms: 93.2 - (310-120)/10
    assert emodel.r_factor(300, 0, 0) == pytest.approx(74.2)


def test_mos_array_matches_the_scalar_formula():
    rtt, jitter, loss = (
        np.array([50.0, 300.0, 600.0]),
        np.array([5.0, 20.0, 40.0]),
        np.array([0.0, 3.0, 40.0]),
    )
    expected = [emodel.mos(*args) for args in zip(rtt, jitter, loss, strict=True)]
    assert emodel.mos_array(rtt, jitter, loss).tolist() == pytest.approx(expected)


def test_estimated_mos_uses_rtt_from_the_other_side_and_marks_it_estimated():
    report = Report(
        provider="acme",
        series=[
            series(Metric.LOSS, [0.0, 10.0, 0.0]),
            series(Metric.JITTER, [5.0, 5.0, 5.0]),
            series(Metric.RTT, [55.0, 55.0, 55.0], direction=Direction.SEND),
        ],
    )
    [got] = emodel.estimated_mos(report)
    assert (got.media, got.direction, got.metric, got.estimated) == (
        Media.AUDIO,
        Direction.RECEIVE,
        Metric.MOS,
        True,
    )
    assert got.times == [T0, T0 + 5, T0 + 10]
    assert got.values == pytest.approx(
        [emodel.mos(55, 5, 0), emodel.mos(55, 5, 10), emodel.mos(55, 5, 0)], abs=1e-3
    )


def test_estimated_mos_aligns_by_time_and_skips_missing_samples():
    report = Report(
        provider="acme",
        series=[
            series(Metric.LOSS, [0.0, None, 2.0]),
            # RTT sampled at other instants: the nearest sample is used.
            series(Metric.RTT, [100.0, 500.0], step=9.0, start=T0 + 1),
            series(Metric.RTT, [999.0], media=Media.CONNECTION),  # own audio RTT wins
        ],
    )
    [got] = emodel.estimated_mos(report)
    assert got.times == [T0, T0 + 10]
    assert got.values == pytest.approx([emodel.mos(100, 0, 0), emodel.mos(500, 0, 2)], abs=1e-3)


def test_no_estimate_where_the_provider_sent_mos_or_data_is_missing():
    provider_mos = Report(
        provider="acme",
        series=[
            series(Metric.MOS, [4.2]),
            series(Metric.LOSS, [1.0]),
            series(Metric.RTT, [50.0]),
        ],
    )
    loss_only = Report(provider="acme", series=[series(Metric.LOSS, [1.0, 2.0])])
    no_loss = Report(provider="acme", series=[series(Metric.RTT, [50.0])])
    assert [emodel.estimated_mos(r) for r in (provider_mos, loss_only, no_loss)] == [[], [], []]
