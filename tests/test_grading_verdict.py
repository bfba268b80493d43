"""grade(report): thresholds per metric, causes, provider scores, warnings, coverage, unknowns
and the words of findings and headlines."""

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
    # A score on the provider's own scale is not a MOS: Fair at most on its own.
    "score low is fair at most": (series(Metric.SCORE, steady_then(4.5, 2.0)), Grade.FAIR),
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
    assert fps.caused_by is not None and fps.caused_by.metric == "quality_limitation"
    assert verdict.headline == (
        "Poor: CPU limitation on send (video), 50 % of the call for 2 min 30 s from "
        "2026-11-20 14:02:30 UTC"
    )


def test_bandwidth_limitation_is_told_apart_from_cpu():
    verdict = grade(report(limitations=limitations(["none"] * 30 + ["bandwidth"] * 30)))
    assert top(verdict).text.startswith("bandwidth limitation on send (video)")
    assert top(verdict).cause == "not enough upload bandwidth (this participant's uplink)"


def test_percentiles_are_reported():
    verdict = grade(report(series(Metric.JITTER, [float(i) for i in range(10)])))
    assert (top(verdict).p50, top(verdict).p90) == (4.5, 8.1)


def test_top_finding_names_metric_direction_level_and_time():
    verdict = grade(report(series(Metric.LOSS, steady_then(0.3, 10.0))))
    f = top(verdict)
    assert f.text == (
        "Packet loss on receive (audio) averaged 10 % for 1 min 40 s "
        "from 2026-11-20 14:01:40 to 14:03:20 UTC. "
        "Likely cause: this participant's downlink (or the senders' uplinks)."
    )
    assert (f.media, f.direction, f.since, f.until, f.duration_s) == (
        A,
        RECV,
        T0 + 100,
        T0 + 200,
        100.0,
    )
    assert verdict.headline == (
        "Poor: packet loss on receive (audio) 10 % for 1 min 40 s from 2026-11-20 14:01:40 UTC; "
        "likely this participant's downlink (or the senders' uplinks)"
    )


def test_times_carry_no_date_on_the_day_of_the_call(monkeypatch):
    from bot.grading import words

    monkeypatch.setattr(words, "_today", lambda: datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    verdict = grade(report(series(Metric.LOSS, steady_then(0.3, 10.0))))
    assert verdict.headline.startswith(
        "Poor: packet loss on receive (audio) 10 % for 1 min 40 s from 14:01:40 UTC;"
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
    both = [
        series(m, [v] * 60, direction=d)
        for d in (SEND, RECV)
        for m, v in ((Metric.LOSS, 0.2), (Metric.JITTER, 4.0), (Metric.RTT, 50.0))
    ]
    verdict = grade(report(*both))
    # Loss, jitter and RTT are there, so an estimated MOS is graded too.
    assert (verdict.grade, verdict.limited) == (Grade.GOOD, False)
    assert verdict.headline == "Good: no sustained problem in loss, jitter, RTT or MOS"
    assert verdict.emoji == ":large_green_circle:"


def test_good_on_one_side_only_is_limited_not_green():
    verdict = grade(report(series(Metric.LOSS, [0.2] * 60), series(Metric.RTT, [50.0] * 60)))
    assert (verdict.grade, verdict.limited) == (Grade.GOOD, True)
    assert verdict.emoji != Grade.GOOD.emoji
    assert verdict.headline == (
        "No problem in what acme reports (received audio only): no sustained problem in loss or RTT"
    )
    assert ("audio", "receive", "loss_pct") in verdict.coverage


def test_no_stats_is_unknown_never_good():
    verdict = grade(report(missing=["quality stats"]))
    assert verdict.as_dict() == {
        "grade": "unknown",
        "headline": "Unknown: acme returned no quality stats for this participant",
        "limited": True,
        "coverage": [],
        "findings": [],
        "unknown": ["quality stats"],
        "notes": [],
    }


def test_missing_metrics_are_unknown_and_said():
    missing = ["packet loss", "jitter", "round-trip time"]
    verdict = grade(report(series(Metric.BITRATE, [1500.0] * 60, V), missing=missing))
    assert (verdict.grade, verdict.limited) == (Grade.GOOD, True)
    assert verdict.unknown == missing
    assert verdict.headline == (
        "No problem in what acme reports (received video only): no sustained problem in "
        "bitrate; not available: packet loss, jitter and round-trip time"
    )
    assert verdict.findings[-1].as_dict()["text"] == (
        "Not available, so not graded: packet loss, jitter and round-trip time."
    )


def test_provider_score_is_named_and_other_scales_are_not_graded():
    low = grade(report(series(Metric.SCORE, steady_then(4.5, 2.0))))
    assert top(low).text.startswith("Provider quality score on receive (audio) averaged 2.00")
    assert "not documented as a MOS" in top(low).text
    hundred = grade(report(series(Metric.SCORE, [85.0] * 60)))
    assert hundred.grade == Grade.UNKNOWN
    assert hundred.unknown == ["provider quality score on receive (audio) (unknown scale)"]


def test_provider_mos_against_a_clean_network_is_reported_as_a_disagreement():
    verdict = grade(
        report(
            series(Metric.MOS, steady_then(4.4, 2.4)),
            series(Metric.LOSS, [0.2] * 60),
            series(Metric.JITTER, [4.0] * 60),
            series(Metric.RTT, [60.0] * 60),
        )
    )
    assert verdict.grade == Grade.FAIR
    assert verdict.headline == (
        "Fair: MOS on receive (audio) 2.40 while packet loss, jitter and round-trip time "
        "stayed good"
    )


def test_provider_mos_with_loss_at_the_same_time_is_caused_by_it():
    verdict = grade(
        report(
            series(Metric.MOS, steady_then(4.4, 2.4)),
            series(Metric.LOSS, steady_then(0.2, 12.0)),
            series(Metric.JITTER, [4.0] * 60),
        )
    )
    mos = next(f for f in verdict.findings if f.metric == Metric.MOS.value)
    assert (verdict.grade, mos.grade, mos.caused_by.metric) == (Grade.POOR, Grade.POOR, "loss_pct")
    assert verdict.headline.startswith("Poor: packet loss on receive (audio) 12 %")


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
    # The cause leads, the MOS it pulled down follows.
    assert verdict.headline.startswith("Poor: packet loss on receive (audio) 14 % for 1 min 40 s")


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


def test_a_warning_without_a_number_is_a_fair_finding_quoting_it():
    when = datetime(2026, 11, 20, 14, 2, tzinfo=UTC)
    verdict = grade(
        report(
            series(Metric.LOSS, [0.2] * 60),
            events=[Event(time=when, kind=EventKind.WARNING, text="ICE connection failed")] * 2,
        )
    )
    assert verdict.grade == Grade.FAIR
    got = top(verdict).as_dict()
    assert (got["metric"], got["grade"], got["since"]) == ("warning", "fair", when.timestamp())
    assert got["text"] == (
        'Provider warning at 2026-11-20 14:02:00 UTC (2 times): "ICE connection failed".'
    )


@pytest.mark.parametrize(
    ("text", "metric", "value", "expected"),
    [
        ("Packet loss of 15% on the participant's connection", "loss_pct", 15.0, Grade.POOR),
        ("Packet loss of 2.5% on the participant's connection", "loss_pct", 2.5, Grade.FAIR),
        ("High jitter: 45 ms", "jitter_ms", 45.0, Grade.POOR),
        ("Round-trip time reached 0.6 s", "rtt_ms", 600.0, Grade.POOR),
        ("Latency of 250ms to the SFU", "rtt_ms", 250.0, Grade.FAIR),
    ],
)
def test_a_warning_with_a_number_is_graded_as_that_metric(text, metric, value, expected):
    when = datetime(2026, 11, 20, 14, 2, tzinfo=UTC)
    verdict = grade(
        report(
            series(Metric.FPS, [30.0] * 60, V, SEND),
            events=[Event(time=when, kind=EventKind.WARNING, text=text)],
            missing=["packet loss", "jitter", "round-trip time"],
        )
    )
    f = top(verdict)
    assert (verdict.grade, f.metric, f.grade, f.p50, f.since) == (
        expected,
        metric,
        expected,
        value,
        when.timestamp(),
    )
    assert f.source == "warning" and text in f.text
    # The thread must not say "could not grade packet loss" right above a loss warning.
    label = {"loss_pct": "packet loss", "jitter_ms": "jitter", "rtt_ms": "round-trip time"}
    assert label[metric] not in verdict.unknown
    assert f"{label[metric]} over time (only a provider warning)" in verdict.unknown


def test_a_limitation_warning_explains_the_drop_at_the_same_time():
    when = datetime(2026, 11, 20, 14, 2, tzinfo=UTC)
    warning = Event(
        time=when,
        kind=EventKind.WARNING,
        text="video: Video quality is limited by the CPU",
        media=V,
        direction=SEND,
    )
    fps = series(Metric.FPS, steady_then(30.0, 8.0, start=24, stop=60), V, SEND)
    verdict = grade(report(fps, events=[warning]))
    drop = next(f for f in verdict.findings if f.metric == Metric.FPS.value)
    assert drop.cause == "the device's CPU could not keep up"
    assert drop.caused_by is not None and drop.caused_by.source == "warning"
    assert verdict.headline.startswith("Poor: CPU limitation on send (video)")
    assert verdict.headline.endswith("which brought frame rate on send (video) down to 8 fps")
    # A warning an hour away from the drop explains nothing.
    later = warning.model_copy(update={"time": datetime(2026, 11, 20, 15, 30, tzinfo=UTC)})
    verdict = grade(report(fps, events=[later]))
    drop = next(f for f in verdict.findings if f.metric == Metric.FPS.value)
    assert drop.caused_by is None


def test_frozen_video_is_a_freeze_with_its_time_caused_by_the_loss_then():
    fps = [30.0] * 60
    fps[30:33] = [0.0, 0.0, 0.0]
    verdict = grade(
        report(
            series(Metric.FPS, fps, V, RECV),
            series(Metric.LOSS, steady_then(0.2, 12.0, start=29, stop=34), V, RECV),
        )
    )
    freeze = next(f for f in verdict.findings if f.metric == "freeze")
    assert (freeze.since, freeze.duration_s) == (T0 + 150, 15.0)
    assert freeze.text.startswith(
        "Video froze on receive (video) once: 15 s from 2026-11-20 14:02:30 UTC (15 s in total"
    )
    assert freeze.caused_by is not None and freeze.caused_by.metric == "loss_pct"
    # A camera switched off for the rest of the call is not a freeze.
    off = [30.0] * 40 + [0.0] * 20
    assert not any(f.metric == "freeze" for f in grade(report(series(Metric.FPS, off, V))).findings)


def test_provider_summary_is_graded_when_there_are_no_samples():
    from providers.models import Summary

    verdict = grade(
        report(summaries=[Summary(media=A, direction=RECV, values={"loss_avg_pct": 7.5})])
    )
    assert verdict.grade == Grade.POOR
    assert top(verdict).text == (
        "Packet loss on receive (audio) averaged 7.5 % over the call "
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
    # 2 minutes of 9 % loss on receive (video) at minute 40.
    loss = [0.5] * n
    loss[2400:2520] = [9.0] * 120
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
    assert top(verdict).duration_s == pytest.approx(120, abs=1)
