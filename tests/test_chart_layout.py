"""Chart text is never clipped or overprinted: every text artist lies inside the figure and no
two labels overlap, for every call the sandbox serves (through the real provider clients),
their compare charts and their focused charts; episodes are shaded, lone points marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from bot.commands import parse_words
from bot.config import Settings
from bot.grading import grade
from bot.lookup import run
from charts import timeseries
from providers.models import Direction, Event, EventKind, Media, Metric, Participant, Report, Series


@pytest.fixture(scope="module")
def outcomes(_sandbox):
    settings = _sandbox.settings(Settings)
    return {
        (words[0], truth.key): run(parse_words(words), settings)
        for words, truth in _sandbox.lookups()
        if len(words) <= 3
    }


def texts(fig) -> list:
    """(text, window extent) of every visible, non-empty text artist, after a draw."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    # Tick labels exist for ticks outside the view too; only those of drawn ticks count.
    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks |= {
                t
                for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                for t in (tick.label1, tick.label2)
            }
            drawn |= {t for tick in axis._update_ticks() for t in (tick.label1, tick.label2)}
    out = []
    for artist in fig.findobj(Text):
        if artist in ticks and artist not in drawn:
            continue
        if artist.get_visible() and artist.get_text().strip() and artist.get_figure() is fig:
            out.append((artist, artist.get_window_extent(renderer)))
    return out


def assert_clean(fig) -> None:
    box = fig.bbox
    found = texts(fig)
    for artist, extent in found:
        assert extent.x0 >= box.x0 - 0.5 and extent.x1 <= box.x1 + 0.5, artist.get_text()
        assert extent.y0 >= box.y0 - 0.5 and extent.y1 <= box.y1 + 0.5, artist.get_text()
    # Labels placed by us (titles, header, footnote, event labels) never overprint each other;
    # tick labels are laid out by matplotlib and left out.
    ours = [(a, e) for a, e in found if not _is_tick(a)]
    for i, (a, ea) in enumerate(ours):
        for b, eb in ours[i + 1 :]:
            assert not ea.overlaps(eb), (a.get_text(), b.get_text())


def _is_tick(artist) -> bool:
    for ax in artist.get_figure().axes:
        ticks = ax.get_xticklabels() + ax.get_yticklabels()
        if artist in ticks or artist is ax.xaxis.label or artist is ax.yaxis.label:
            return True
    return False


def test_no_text_is_clipped_or_overlaps_in_any_sandbox_chart(outcomes):
    for key, outcome in outcomes.items():
        if outcome.report is None:
            continue
        fig = timeseries.figure(outcome.report, outcome.verdict)
        assert_clean(fig)
        if outcome.report.has_stats:
            assert "on Fri 20 Nov 2026" in fig.axes[-1].get_xlabel() or any(
                "on Fri 20 Nov 2026" in ax.get_xlabel() for ax in fig.axes
            ), key


@pytest.mark.parametrize("focus", ["loss", "audio", "video", "fps"])
def test_focused_and_compare_charts_are_clean(outcomes, focus):
    a, b = outcomes[("cf", "receive-loss")], outcomes[("cf", "turn-tcp")]
    assert_clean(timeseries.figure(a.report, a.verdict, focus=focus))
    assert_clean(timeseries.compare_figure(a.report, b.report, a.verdict, b.verdict, focus=focus))
    s1, s2 = outcomes[("stream", "healthy")], outcomes[("stream", "sparse")]
    assert_clean(timeseries.compare_figure(s1.report, s2.report, s1.verdict, s2.verdict))


def crowded() -> Report:
    """A long headline, a long name, many close events with long warning texts."""
    t0 = datetime(2026, 11, 20, 23, 58, tzinfo=UTC)
    times = [t0.timestamp() + 5 * i for i in range(60)]
    loss = [12.0 if 10 <= i < 40 else 0.2 for i in range(60)]
    events = [
        Event(time=t0 + timedelta(seconds=5 * i), kind=kind, text="Poor connection " * 6)
        for i, kind in enumerate(
            [EventKind.JOIN, EventKind.WARNING, EventKind.RECONNECT, EventKind.WARNING] * 3
        )
    ]
    events.append(Event(time=t0 + timedelta(seconds=295), kind=EventKind.LEAVE, text="left"))
    return Report(
        provider="cf",
        participant=Participant(display_name="Maximiliane Alexandra von Unterhausen-Ostwald " * 2),
        series=[
            Series(
                media=Media.AUDIO,
                direction=Direction.RECEIVE,
                metric=Metric.LOSS,
                times=times,
                values=loss,
            ),
            # Every other sample missing: no two neighbours, so no line, only markers.
            Series(
                media=Media.AUDIO,
                direction=Direction.RECEIVE,
                metric=Metric.JITTER,
                times=times,
                values=[8.0 if i % 2 else None for i in range(60)],
            ),
        ],
        events=events,
        missing=[f"a thing the provider does not report number {i}" for i in range(60)],
    )


def test_crowded_chart_wraps_shortens_and_keeps_labels_apart():
    report = crowded()
    verdict = grade(report)
    verdict.headline = "Poor: " + "packet loss on receive (audio) for a long while " * 20
    fig = timeseries.figure(report, verdict)
    assert_clean(fig)
    drawn = [a.get_text() for a, _ in texts(fig)]
    headline = next(t for t in drawn if t.startswith("Poor: "))
    assert 1 < len(headline.splitlines()) <= 4 and headline.endswith("…")
    note = next(t for t in drawn if t.startswith("Not supplied by"))
    assert len(note.splitlines()) > 1
    assert "join" in drawn and "leave" in drawn
    assert any(t.startswith("warning: Poor connection") and t.endswith("…") for t in drawn)
    # The call crossed midnight (UTC): both dates on the axis.
    assert any("Fri 20 Nov 2026 - Sat 21 Nov 2026" in ax.get_xlabel() for ax in fig.axes)


def test_problem_episodes_are_shaded_and_lone_points_marked():
    report = crowded()
    fig = timeseries.figure(report, grade(report))
    loss_ax, jitter_ax = fig.axes[0], fig.axes[1]
    spans = [p for p in loss_ax.patches if p.get_width() < 1]  # axvspans, in days
    start = report.series[0].times[10] / 86400
    assert any(abs(p.get_x() - start) < 1e-6 for p in spans)
    markers = [ln for ln in jitter_ax.lines if ln.get_marker() == "o"]
    assert markers and len(markers[0].get_xdata()) == 30
