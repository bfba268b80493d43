"""Episodes in time: the same call grades the same at 1 s, 2 s, 10 s and 30 s sampling.

Each call is written once, second by second, and sampled the way a provider samples: every
`step` seconds, the mean over that interval.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.grading import EpisodeKind, Grade, grade
from providers.models import Direction, Media, Metric, Report, Series

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC).timestamp()
STEPS = (1, 2, 10, 30)


def call(seconds: int, base: float, bad: dict[tuple[int, int], float]) -> np.ndarray:
    """Per-second values: `base`, with [start, end) second ranges at their value."""
    v = np.full(seconds, base)
    for (a, b), value in bad.items():
        v[a:b] = value
    return v


def sampled(v: np.ndarray, step: int, metric=Metric.LOSS, media=Media.AUDIO, d=Direction.RECEIVE):
    means = [float(v[i : i + step].mean()) for i in range(0, len(v), step)]
    return Series(
        media=media,
        direction=d,
        metric=metric,
        times=[T0 + i * step for i in range(len(means))],
        values=means,
    )


def verdict_of(*series: Series):
    return grade(Report(provider="acme", series=list(series)))


def finding(verdict, metric=Metric.LOSS):
    return next(f for f in verdict.findings if f.metric == metric.value)


BURSTS = call(600, 0.2, {(125, 145): 20.0, (300, 320): 20.0, (480, 500): 20.0})


@pytest.mark.parametrize("step", STEPS)
def test_three_bursts_are_three_episodes_each_with_its_time(step):
    verdict = verdict_of(sampled(BURSTS, step))
    f = finding(verdict)
    assert verdict.grade.rank >= Grade.FAIR.rank
    assert (f.media, f.direction) == (Media.AUDIO, Direction.RECEIVE)
    assert len(f.episodes) == 3
    for ep, start in zip(f.episodes, (125, 300, 480), strict=True):
        # Each burst is found where it was, to within one sample, and never spans clean minutes.
        assert abs(ep.start - (T0 + start)) < step
        assert ep.duration_s <= 20 + 2 * step
    assert "3 times" in f.text and "3 times" in verdict.headline


def test_three_bursts_grade_alike_at_every_sampling():
    grades = {step: verdict_of(sampled(BURSTS, step)).grade for step in STEPS}
    assert set(grades.values()) == {Grade.POOR}, grades


SPIKE = call(600, 0.2, {(303, 308): 25.0})


@pytest.mark.parametrize("step", STEPS)
def test_one_short_spike_is_not_a_problem(step):
    verdict = verdict_of(sampled(SPIKE, step))
    f = finding(verdict)
    assert (verdict.grade, f.grade, f.episodes) == (Grade.GOOD, Grade.GOOD, [])
    if step <= 10:
        # Mentioned with its time while the samples still show it at a poor level.
        assert len(f.spikes) == 1 and f.spikes[0].kind == EpisodeKind.SPIKE
        assert "spike to" in f.text and "14:05:0" in f.text


@pytest.mark.parametrize("step", STEPS)
def test_jitter_scattered_a_hair_over_the_edge_is_good(step):
    rng = np.random.default_rng(3)
    hair = 6.0 + (rng.random(3600) < 0.35) * rng.uniform(4.2, 6.0, 3600)
    verdict = verdict_of(sampled(hair, step, Metric.JITTER))
    assert (verdict.grade, finding(verdict, Metric.JITTER).episodes) == (Grade.GOOD, [])


@pytest.mark.parametrize("step", STEPS)
def test_jitter_held_a_hair_over_the_edge_all_hour_is_good_and_said(step):
    verdict = verdict_of(sampled(call(3600, 10.6, {}), step, Metric.JITTER))
    f = finding(verdict, Metric.JITTER)
    assert verdict.grade == Grade.GOOD
    assert "stayed good" not in f.text  # bad in every sample: never "stayed good"
    assert "just over the edge" in f.text or "near the edge" in f.text


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(("where", "bad"), [("join", (0, 25)), ("leave", (1176, 1200))])
def test_impairment_only_at_join_or_leave_is_fair_at_most_and_said(step, where, bad):
    verdict = verdict_of(sampled(call(1200, 0.2, {bad: 20.0}), step))
    f = finding(verdict)
    assert (verdict.grade, f.grade) == (Grade.FAIR, Grade.FAIR)
    assert [e.edge for e in f.episodes] == [where]
    assert ("at join" if where == "join" else "before leaving") in verdict.headline


@pytest.mark.parametrize("step", STEPS)
def test_the_same_burst_mid_call_is_graded(step):
    verdict = verdict_of(sampled(call(1200, 0.2, {(600, 660): 20.0}), step))
    f = finding(verdict)
    assert f.grade.rank >= Grade.FAIR.rank and f.episodes[0].edge is None


@pytest.mark.parametrize("step", STEPS)
def test_sustained_loss_is_poor_at_every_sampling(step):
    verdict = verdict_of(sampled(call(600, 0.2, {(200, 380): 8.0}), step))
    f = finding(verdict)
    assert (verdict.grade, f.grade, len(f.episodes)) == (Grade.POOR, Grade.POOR, 1)
    # Coarse samples at the edges of the episode average in some clean seconds.
    assert f.episodes[0].typical == pytest.approx(8.0, abs=0.5 if step <= 10 else 1.5)
    assert verdict.headline.startswith("Poor: packet loss on receive (audio) ")
    assert f"{f.episodes[0].typical:.1f}".rstrip("0").rstrip(".") in verdict.headline


@pytest.mark.parametrize("step", STEPS)
def test_one_burst_in_a_long_call_is_fair_not_poor(step):
    verdict = verdict_of(sampled(call(1800, 0.2, {(900, 920): 20.0}), step))
    assert verdict.grade == Grade.FAIR


@pytest.mark.parametrize("values", [[15.0, 15.0], [15.0]])
def test_a_call_of_one_or_two_samples_is_graded_from_them(values):
    series = Series(
        media=Media.AUDIO,
        direction=Direction.RECEIVE,
        metric=Metric.LOSS,
        times=[T0 + 10 * i for i in range(len(values))],
        values=values,
    )
    verdict = verdict_of(series)
    assert verdict.grade == Grade.POOR
    assert any("call was short" in note for note in verdict.notes)


def test_a_clean_sample_inside_a_burst_does_not_split_it():
    v = call(600, 0.2, {(200, 230): 15.0, (232, 260): 15.0})
    f = finding(verdict_of(sampled(v, 1)))
    assert len(f.episodes) == 1 and f.episodes[0].duration_s == pytest.approx(60)


def test_alternating_seconds_of_heavy_loss_are_one_episode():
    v = call(600, 0.2, {})
    v[200:260:2] = 20.0  # every other second for a minute: 10 % on average
    f = finding(verdict_of(sampled(v, 1)))
    assert len(f.episodes) == 1
    assert f.episodes[0].typical == pytest.approx(10.1, abs=0.3)
