"""grade(report): thresholds, persistence, wording, unknowns and speed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.grading import Grade, grade
from providers.models import (
    Direction,
    Event,
    EventKind,
    Limitation,
    Media,
    Metric,
    Network,
    Report,
    Series,
)

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC).timestamp()
A, V = Media.AUDIO, Media.VIDEO
SEND, RECV = Direction.SEND, Direction.RECEIVE


def series(metric, values, media=A, direction=RECV, step=5.0):
    return Series(
        media=media,
        direction=direction,
        metric=metric,
        times=[T0 + i * step for i in range(len(values))],
        values=list(values),
    )


def report(*items: Series, **kw) -> Report:
    return Report(provider="acme", series=list(items), **kw)


def steady_then(value: float, bad: float, n: int = 60, start: int = 20, stop: int = 40):
    """`n` samples at `value`, with samples [start, stop) at `bad`."""
    return [bad if start <= i < stop else value for i in range(n)]


def top(verdict):
    return verdict.findings[0]


CASES = {
    # name: (series, expected grade)
    "loss good": (series(Metric.LOSS, [0.3] * 60), Grade.GOOD),
    "loss fair": (series(Metric.LOSS, steady_then(0.3, 3.0)), Grade.FAIR),
    "loss poor": (series(Metric.LOSS, steady_then(0.3, 12.0)), Grade.POOR),
    "jitter good": (series(Metric.JITTER, [5.0] * 60), Grade.GOOD),
    "jitter fair": (series(Metric.JITTER, steady_then(5.0, 20.0)), Grade.FAIR),
    "jitter poor": (series(Metric.JITTER, steady_then(5.0, 45.0)), Grade.POOR),
    "rtt good": (series(Metric.RTT, [60.0] * 60), Grade.GOOD),
    "rtt fair": (series(Metric.RTT, steady_then(60.0, 300.0)), Grade.FAIR),
    "rtt poor": (series(Metric.RTT, steady_then(60.0, 520.0)), Grade.POOR),
    "mos good": (series(Metric.MOS, [4.3] * 60), Grade.GOOD),
    "mos fair": (series(Metric.MOS, steady_then(4.3, 3.5)), Grade.FAIR),
    "mos poor": (series(Metric.MOS, steady_then(4.3, 2.5)), Grade.POOR),
    "fps good": (series(Metric.FPS, [30.0] * 60, V, SEND), Grade.GOOD),
    "fps fair": (series(Metric.FPS, steady_then(30.0, 20.0), V, SEND), Grade.FAIR),
    "fps poor": (series(Metric.FPS, steady_then(30.0, 10.0), V, SEND), Grade.POOR),
    "height good": (series(Metric.HEIGHT, [720.0] * 60, V), Grade.GOOD),
    "height steady 360p is fair": (series(Metric.HEIGHT, [360.0] * 60, V), Grade.FAIR),
    "height steady 180p is held at fair": (series(Metric.HEIGHT, [180.0] * 60, V), Grade.FAIR),
    "height 720 to 270 poor": (series(Metric.HEIGHT, steady_then(720.0, 270.0), V), Grade.POOR),
    "bitrate good": (series(Metric.BITRATE, [1500.0] * 60, V), Grade.GOOD),
    "bitrate fair": (series(Metric.BITRATE, steady_then(1500.0, 300.0), V), Grade.FAIR),
    "bitrate collapse": (series(Metric.BITRATE, steady_then(1500.0, 30.0), V), Grade.POOR),
    "score good": (series(Metric.SCORE, [4.5] * 60), Grade.GOOD),
    "score poor": (series(Metric.SCORE, steady_then(4.5, 2.0)), Grade.POOR),
}


@pytest.mark.parametrize("name", list(CASES))
def test_grade_table(name):
    s, expected = CASES[name]
    verdict = grade(report(s))
    assert (verdict.grade, top(verdict).grade, top(verdict).metric) == (
        expected,
        expected,
        s.metric.value,
    )


def limitations(reasons: list[str]) -> list[Limitation]:
    return [Limitation(media=V, time=T0 + i * 5, reason=r) for i, r in enumerate(reasons)]


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["none"] * 60, Grade.GOOD),
        (["cpu"] * 6 + ["none"] * 54, Grade.FAIR),
        (["none"] * 30 + ["cpu"] * 30, Grade.POOR),
    ],
)
def test_cpu_limitation_share(reasons, expected):
    verdict = grade(
        report(series(Metric.FPS, [30.0] * 60, V, SEND), limitations=limitations(reasons))
    )
    finding = next(f for f in verdict.findings if f.metric == "quality_limitation")
    assert (verdict.grade, finding.grade) == (expected, expected)
    if expected != Grade.GOOD:
        assert "CPU limitation on send (video)" in finding.text
        assert finding.cause == "the device's CPU could not keep up"


def test_cpu_limitation_is_named_as_the_cause_of_the_frame_rate_drop():
    verdict = grade(
        report(
            series(Metric.FPS, steady_then(30.0, 8.0, start=30, stop=60), V, SEND),
            limitations=limitations(["none"] * 30 + ["cpu"] * 30),
        )
    )
    fps = next(f for f in verdict.findings if f.metric == Metric.FPS.value)
    assert fps.text.endswith("Likely cause: the device's CPU could not keep up.")
    assert verdict.headline.startswith("Poor: CPU limitation on send (video), 50 % of the call")


def test_bandwidth_limitation_is_told_apart_from_cpu():
    verdict = grade(report(limitations=limitations(["none"] * 30 + ["bandwidth"] * 30)))
    assert top(verdict).text.startswith("bandwidth limitation on send (video)")
    assert top(verdict).cause == "not enough upload bandwidth (this participant's uplink)"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ([14.0], Grade.GOOD),  # a lone spike
        ([14.0, 0.2, 0.2, 0.2, 14.0], Grade.GOOD),  # 2 of 5
        ([14.0, 0.2, 14.0, 0.2, 14.0], Grade.POOR),  # 3 of 5
        ([14.0, 14.0, 14.0], Grade.POOR),
    ],
)
def test_persistence_three_of_five(pattern, expected):
    values = [0.2] * 20 + pattern + [0.2] * 20
    assert grade(report(series(Metric.LOSS, values))).grade == expected


def test_scattered_spikes_do_not_add_up():
    # Six isolated 5-second spikes, 30 s in total but never 3 of 5: spikes, not a problem.
    values = [12.0 if i % 10 == 0 else 0.2 for i in range(60)]
    assert grade(report(series(Metric.LOSS, values))).grade == Grade.GOOD
    # An hour sampled every second with a one-second spike each minute stays good too.
    hourly = [20.0 if i % 60 == 0 else 0.2 for i in range(3600)]
    assert grade(report(series(Metric.LOSS, hourly, step=1.0))).grade == Grade.GOOD


def test_persistence_thirty_unbroken_seconds_with_coarse_samples():
    # Samples 15 s apart: two bad ones in a row are 30 s of loss though not 3 of 5.
    values = [0.2] * 10 + [12.0, 12.0] + [0.2] * 10
    assert grade(report(series(Metric.LOSS, values, step=15.0))).grade == Grade.POOR
    values = [0.2] * 10 + [12.0, 0.2, 12.0] + [0.2] * 10
    assert grade(report(series(Metric.LOSS, values, step=15.0))).grade == Grade.GOOD


def test_lone_spike_finding_says_it_did_not_persist():
    verdict = grade(report(series(Metric.LOSS, [0.2] * 30 + [14.0] + [0.2] * 29)))
    assert top(verdict).text == (
        "Packet loss on receive (audio) stayed good "
        "(p50 0.2 %, p90 0.2 %; brief spikes up to 14 % did not persist)."
    )


def test_percentiles_are_reported():
    verdict = grade(report(series(Metric.JITTER, [float(i) for i in range(10)])))
    assert (top(verdict).p50, top(verdict).p90) == (4.5, 8.1)


def test_top_finding_names_metric_direction_level_and_time():
    verdict = grade(report(series(Metric.LOSS, steady_then(0.3, 10.0))))
    f = top(verdict)
    assert f.text == (
        "Packet loss on receive (audio) was 10 % (p90 10 %) from 14:01 to 14:03 UTC "
        "(1m 40s in total). Likely cause: this participant's downlink (or the senders' uplinks)."
    )
    assert (f.media, f.direction, f.since, f.until, f.duration_s) == (
        A,
        RECV,
        T0 + 100,
        T0 + 200,
        100.0,
    )
    assert (
        verdict.headline
        == "Poor: packet loss on receive (audio), p90 10 % for 1m 40s from 14:01 UTC"
    )


def test_loss_on_send_blames_the_uplink():
    verdict = grade(report(series(Metric.LOSS, steady_then(0.3, 8.0), direction=SEND)))
    assert "on send (audio)" in top(verdict).text
    assert top(verdict).cause == "this participant's uplink"


def test_high_rtt_with_low_loss_blames_distance():
    verdict = grade(
        report(
            series(Metric.RTT, [520.0] * 60),
            series(Metric.LOSS, [0.2] * 60),
            series(Metric.JITTER, [4.0] * 60),
        )
    )
    rtt = next(f for f in verdict.findings if f.metric == Metric.RTT.value)
    assert rtt.cause == "a distant server/region or a relay"


def test_findings_are_sorted_worst_first():
    verdict = grade(
        report(
            series(Metric.JITTER, [4.0] * 60),
            series(Metric.RTT, steady_then(60.0, 300.0)),
            series(Metric.LOSS, steady_then(0.2, 9.0), V),
        )
    )
    ranks = [f.grade.rank for f in verdict.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert [f.metric for f in verdict.findings[:2]] == ["loss_pct", "rtt_ms"]


def test_good_headline_names_only_what_was_graded():
    verdict = grade(report(series(Metric.LOSS, [0.2] * 60), series(Metric.RTT, [50.0] * 60)))
    # Loss and RTT are there, so an estimated MOS is graded too.
    assert verdict.headline == "Good: no sustained problem in loss, RTT or MOS"


def test_no_stats_is_unknown_never_good():
    verdict = grade(report(missing=["quality stats"]))
    assert verdict.as_dict() == {
        "grade": "unknown",
        "headline": "Unknown: acme returned no quality stats for this participant",
        "findings": [],
        "unknown": ["quality stats"],
    }


def test_missing_metrics_are_unknown_and_said():
    missing = ["packet loss", "jitter", "round-trip time"]
    verdict = grade(report(series(Metric.BITRATE, [1500.0] * 60, V), missing=missing))
    assert verdict.grade == Grade.GOOD
    assert verdict.unknown == missing
    assert verdict.headline == (
        "Good: no sustained problem in bitrate; "
        "not available: packet loss, jitter and round-trip time"
    )
    assert verdict.findings[-1].as_dict()["text"] == (
        "Not available, so not graded: packet loss, jitter and round-trip time."
    )


def test_provider_score_is_named_and_other_scales_are_not_graded():
    poor = grade(report(series(Metric.SCORE, steady_then(4.5, 2.0))))
    assert top(poor).text.startswith("Provider quality score on receive (audio) was 2.00")
    hundred = grade(report(series(Metric.SCORE, [85.0] * 60)))
    assert hundred.grade == Grade.UNKNOWN
    assert hundred.unknown == ["provider quality score on receive (audio) (unknown scale)"]


def test_estimated_mos_when_the_provider_sent_none():
    verdict = grade(
        report(
            series(Metric.LOSS, steady_then(0.2, 14.0)),
            series(Metric.JITTER, [5.0] * 60),
            series(Metric.RTT, [60.0] * 60, direction=SEND),
        )
    )
    mos = next(f for f in verdict.findings if f.metric == Metric.MOS.value)
    assert (mos.grade, mos.estimated, mos.direction) == (Grade.POOR, True, RECV)
    assert mos.text.startswith("Estimated MOS on receive (audio)")
    assert mos.cause == "the packet loss on receive (audio)"


def test_provider_mos_is_used_as_given():
    verdict = grade(
        report(
            series(Metric.MOS, [4.4] * 60),
            series(Metric.LOSS, [0.1] * 60),
            series(Metric.RTT, [50.0] * 60),
        )
    )
    mos = [f for f in verdict.findings if f.metric == Metric.MOS.value]
    assert [(f.estimated, f.p50) for f in mos] == [(False, 4.4)]


def test_relay_is_a_finding_but_never_the_sole_cause_of_poor():
    net = Network(relayed=True, transport="tcp")
    fine = grade(report(series(Metric.RTT, [80.0] * 60), network=net))
    relay = next(f for f in fine.findings if f.metric == "relay")
    assert (fine.grade, relay.grade) == (Grade.GOOD, Grade.GOOD)
    assert (
        relay.text == "Media went through a TURN relay over TCP; round-trip time stayed acceptable."
    )
    slow = grade(report(series(Metric.RTT, [300.0] * 60), network=net))
    relay = next(f for f in slow.findings if f.metric == "relay")
    assert (slow.grade, relay.grade) == (Grade.FAIR, Grade.FAIR)


def test_provider_warnings_are_fair_findings_quoting_them():
    when = datetime(2026, 11, 20, 14, 2, tzinfo=UTC)
    verdict = grade(
        report(
            series(Metric.LOSS, [0.2] * 60),
            events=[Event(time=when, kind=EventKind.WARNING, text="High packet loss detected")] * 2,
        )
    )
    assert verdict.grade == Grade.FAIR
    assert top(verdict).as_dict() == {
        "metric": "warning",
        "grade": "fair",
        "text": 'Provider warning at 14:02 UTC (2 times): "High packet loss detected".',
        "media": None,
        "direction": None,
        "p50": None,
        "p90": None,
        "since": when.timestamp(),
        "until": when.timestamp(),
    }


def test_provider_summary_is_graded_when_there_are_no_samples():
    from providers.models import Summary

    verdict = grade(
        report(summaries=[Summary(media=A, direction=RECV, values={"loss_avg_pct": 7.5})])
    )
    assert verdict.grade == Grade.POOR
    assert top(verdict).text == (
        "Packet loss on receive (audio) averaged 8 % over the call "
        "(provider summary; no samples over time). "
        "Likely cause: this participant's downlink (or the senders' uplinks)."
    )


def test_an_hour_sampled_every_second_grades_an_episode_in_it():
    # Speed is measured by benchmarks/bench_lookup.py; here: the hour is graded right.
    n = 3600
    items = []
    for media in (A, V):
        for direction in (SEND, RECV):
            for metric, value in ((Metric.LOSS, 0.5), (Metric.JITTER, 6.0), (Metric.RTT, 60.0)):
                items.append(series(metric, [value] * n, media, direction, step=1.0))
            items.append(series(Metric.BITRATE, [900.0] * n, media, direction, step=1.0))
            if media == V:
                items.append(series(Metric.FPS, [30.0] * n, media, direction, step=1.0))
                items.append(series(Metric.HEIGHT, [720.0] * n, media, direction, step=1.0))
    # 45 s of 9 % loss on receive (video) at minute 40.
    loss = [0.5] * n
    loss[2400:2445] = [9.0] * 45
    items[items.index(next(s for s in items if s.media == V and s.direction == RECV))] = series(
        Metric.LOSS, loss, V, RECV, step=1.0
    )
    big = report(*items)
    assert len(big.series) == 20
    verdict = grade(big)
    assert verdict.grade == Grade.POOR
    assert (top(verdict).metric, top(verdict).media, top(verdict).direction) == (
        Metric.LOSS.value,
        V,
        RECV,
    )
    assert top(verdict).duration_s == pytest.approx(45, abs=1)
