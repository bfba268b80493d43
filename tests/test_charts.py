"""PNG charts: valid images of the expected size for every kind of report."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np
import pytest

from bot.grading import grade
from charts import timeseries
from charts.timeseries import decimate, render, render_compare, resolve_focus
from providers import scenarios
from providers.models import (
    Direction,
    Event,
    EventKind,
    Limitation,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRICS = {
    "loss_pct": Metric.LOSS,
    "jitter_ms": Metric.JITTER,
    "rtt_ms": Metric.RTT,
    "bitrate_kbps": Metric.BITRATE,
    "fps": Metric.FPS,
    "width": Metric.WIDTH,
    "height": Metric.HEIGHT,
}


def from_truth(truth: scenarios.CallTruth) -> Report:
    """A report carrying a sandbox call's ground truth, as a provider would normalize it."""
    times = truth.times()
    t0 = truth.start.timestamp()
    return Report(
        provider="acme",
        participant=Participant(display_name=truth.profile.name),
        network=Network(relayed=truth.profile.relayed, transport=truth.profile.transport),
        series=[
            Series(
                media=Media(media),
                direction=Direction(direction),
                metric=METRICS[name],
                times=times,
                values=values,
            )
            for (media, direction), track in truth.tracks.items()
            for name, values in track.items()
        ],
        limitations=[
            Limitation(media=Media.VIDEO, time=t, reason=r)
            for t, r in zip(times, truth.limitation, strict=False)
            if r
        ],
        events=[
            Event(time=datetime.fromtimestamp(t0 + off, UTC), kind=EventKind(kind), text=text)
            for off, kind, text in truth.events
        ],
        missing=["MOS"],
    )


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def lossy() -> Report:
    return from_truth(scenarios.generate("receive-loss"))


def test_overview_is_a_png_at_slack_width(lossy):
    png = render(lossy, grade(lossy))
    width, height = size(png)
    assert width == 1200
    assert 1000 < height < 1600  # seven panels


def test_renders_without_a_verdict(lossy):
    assert size(render(lossy))[0] == 1200


def test_no_stats_is_still_a_small_png():
    empty = Report(provider="acme", participant=Participant(display_name="Alan"))
    width, height = size(render(empty, grade(empty)))
    assert width == 1200 and 150 < height < 400


@pytest.mark.parametrize(
    ("focus", "panels"),
    [
        ("loss", 1),
        ("loss_pct", 1),
        ("resolution", 1),
        ("mos", 1),
        ("network", 3),
        ("audio", 5),
        ("video", 6),
    ],
)
def test_focus_renders_the_asked_panels(lossy, focus, panels):
    keys, _media = resolve_focus(focus)
    assert len(keys) == panels
    width, height = size(render(lossy, grade(lossy), focus=focus))
    assert width == 1200
    assert height > 300


def test_every_focus_word_resolves_and_draws():
    # The words the bot offers and every synonym it accepts must all draw.
    words = [*timeseries.focus_choices(), *timeseries.FOCUS_WORDS]
    for word in words:
        key = timeseries.focus_key(word)
        assert key in timeseries.focus_choices(), word
        keys, _media = resolve_focus(word)
        assert set(keys) <= set(timeseries.PANELS)
    assert timeseries.focus_key("width") is None
    buffered = Report(
        provider="cf",
        series=[
            Series(
                media=Media.AUDIO,
                direction=Direction.RECEIVE,
                metric=Metric.JITTER_BUFFER,
                times=[0.0, 5.0, 10.0],
                values=[40.0, 60.0, 55.0],
            )
        ],
    )
    width, height = size(render(buffered, focus="buffer"))
    assert width == 1200 and height > 300  # a panel, not the "no data" image


def test_unknown_focus_lists_the_valid_words(lossy):
    with pytest.raises(ValueError, match="choose one of: audio, video, network, loss"):
        render(lossy, focus="bogus")


def test_focus_without_data_says_so():
    only_loss = Report(
        provider="acme",
        series=[
            Series(
                media=Media.AUDIO,
                direction=Direction.SEND,
                metric=Metric.LOSS,
                times=[0.0, 5.0],
                values=[0.1, 0.2],
            )
        ],
    )
    width, height = size(render(only_loss, focus="fps"))
    assert width == 1200 and 150 < height < 400


def test_compare_renders_two_columns(lossy):
    healthy = from_truth(scenarios.generate("healthy", duration_s=120))
    width, height = size(render_compare(lossy, healthy, grade(lossy), grade(healthy)))
    assert width == 1500
    assert height > 1000
    assert size(render_compare(lossy, healthy, focus="loss"))[0] == 1500


def test_decimation_keeps_spikes_and_dips_at_two_points_per_pixel_column():
    t = np.arange(3600, dtype=float)
    y = np.full(3600, 1.0)
    y[1234], y[2345] = 99.0, -5.0  # one sample each
    y[2000:2100] = np.nan  # a gap wider than a column
    ts, ys = decimate(t, y, 0.0, 3600.0, columns=500)
    assert len(ts) == len(ys) <= 2 * 500
    assert np.nanmax(ys) == 99.0 and np.nanmin(ys) == -5.0
    assert list(ts) == sorted(ts)
    assert np.isnan(ys[(ts >= 2010) & (ts < 2090)]).all()  # the gap is still a gap
    columns = ((ts - 0.0) * 500 / 3600).astype(int)
    assert np.bincount(columns).max() <= 2


def test_decimation_bins_by_time_not_by_sample_count():
    # Dense sampling in the first second, sparse afterwards: the dense part shrinks to its
    # column's min and max, the sparse samples all stay.
    t = np.concatenate([np.linspace(0.0, 0.99, 1000), np.arange(1.0, 101.0)])
    y = np.concatenate([np.sin(np.arange(1000.0)), np.full(100, 0.5)])
    ts, ys = decimate(t, y, 0.0, 101.0, columns=101)
    assert sorted(ys[ts < 1.0]) == [y[:1000].min(), y[:1000].max()]
    assert ts[ts >= 1.0].tolist() == t[1000:].tolist()


def test_decimation_leaves_short_series_alone():
    t, y = np.arange(10.0), np.arange(10.0)
    assert [a.tolist() for a in decimate(t, y, 0.0, 9.0)] == [t.tolist(), y.tolist()]


def test_an_hour_long_call_renders():
    long = from_truth(scenarios.generate("cpu-limited", duration_s=3600, interval_s=1))
    assert size(render(long, grade(long)))[0] == 1200
