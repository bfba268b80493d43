"""From a report to what a chart draws: the lines of each panel, and limitation spans.

Times become matplotlib date numbers here, and long series are decimated to the chart's pixel
columns, so an hour sampled every second draws as fast as five minutes, spikes included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot import grading as v
from bot.grading import estimated_mos
from charts.panels import PANELS, Panel
from providers.models import Media, Metric, Report, Series

SECONDS_PER_DAY = 86400.0  # matplotlib date numbers are days since 1970-01-01 (its epoch)
LIMITATION_REASONS = ("cpu", "bandwidth")  # the kinds of encoder limitation a chart shades
COLUMNS = 543  # time buckets of a panel 1086 pixels wide, as on the 1200-pixel chart


def decimate(t: np.ndarray, y: np.ndarray, lo: float, hi: float, columns: int = COLUMNS):
    """At most two points per column of the time range `lo`..`hi` (`columns` of them, as
    wide as one or two pixels): each column keeps its minimum and its maximum, in time order,
    so a spike one sample wide in an hour-long call still shows, and drawing costs the same
    for any call length. A column with no value keeps one NaN, so gaps stay gaps. `t` must be
    sorted."""
    n = len(t)
    if n <= 2 * columns or hi <= lo:
        return t, y
    col = np.clip(((t - lo) * (columns / (hi - lo))).astype(np.int64), 0, columns - 1)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    which = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    gap = np.isnan(y)
    low, high = np.where(gap, np.inf, y), np.where(gap, -np.inf, y)
    first_low = _first_where(low == np.minimum.reduceat(low, starts)[which], which)
    first_high = _first_where(high == np.maximum.reduceat(high, starts)[which], which)
    keep = np.sort(np.column_stack([first_low, first_high]), axis=1).ravel()  # time order
    keep = keep[np.r_[True, keep[1:] != keep[:-1]]]  # a one-sample column: its sample once
    return t[keep], y[keep]


def _first_where(mask: np.ndarray, which: np.ndarray) -> np.ndarray:
    """The first index where `mask` holds, per run of equal `which` (each run has one)."""
    hits = np.flatnonzero(mask)
    return hits[np.r_[True, which[hits][1:] != which[hits][:-1]]]


@dataclass
class Line:
    series: Series
    x: np.ndarray  # matplotlib date numbers
    y: np.ndarray


@dataclass
class PanelData:
    panel: Panel
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ymax(self) -> float:
        tops = [float(np.nanmax(ln.y)) for ln in self.lines if np.isfinite(ln.y).any()]
        return max(tops, default=0.0)


def _line(series: Series, span: tuple[float, float], columns: int, log: bool) -> Line | None:
    y = np.array(series.values, dtype=float)
    if not len(y) or np.isnan(y).all():
        return None
    t = np.asarray(series.times[: len(y)], dtype=float)  # ascending (the model's contract)
    if log:
        y = np.where(y > 0, y, np.nan)
    t, y = decimate(t, y, *span, columns)
    return Line(series, t / SECONDS_PER_DAY, y)


def panel_data(
    report: Report,
    keys: tuple[str, ...],
    media: frozenset[Media] | None,
    columns: int = COLUMNS,
) -> list[PanelData]:
    """One `PanelData` per key, in order, holding the report's series for that panel (only
    those of `media` when given), decimated to `columns` pixel columns over the report's time
    range; a panel may come back with no lines."""
    out = []
    span = report.time_range() or (0.0, 0.0)
    estimated = None
    for key in keys:
        panel = PANELS[key]
        data = PanelData(panel)
        chosen = [
            s
            for s in report.series
            if s.metric in panel.metrics and (media is None or s.media in media)
        ]
        if key == "mos":
            if estimated is None:
                estimated = estimated_mos(report)
            chosen = [s for s in chosen if not (s.metric == Metric.MOS and s.estimated)]
            scores = [s for s in chosen if s.metric == Metric.SCORE]
            for s in scores:
                got = [x for x in s.values if x is not None]
                if got and not (min(got) >= 0 and max(got) <= v.SCORE_MAX):
                    chosen.remove(s)
                    data.notes.append("provider score not on a 0-5 scale")
            if media is None or Media.AUDIO in media:
                chosen += estimated
        for s in chosen:
            line = _line(s, span, columns, panel.log)
            if line is not None:
                data.lines.append(line)
        out.append(data)
    return out


def limitation_spans(report: Report) -> list[tuple[str, float, float]]:
    """(reason, start, end) runs of cpu / bandwidth limitation, in Unix seconds."""
    samples = sorted((x.time, x.reason.lower()) for x in report.limitations)
    if not samples:
        return []
    times = np.array([t for t, _ in samples])
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    spans: list[tuple[str, float, float]] = []
    for reason in LIMITATION_REASONS:
        hit = times[np.array([r == reason for _, r in samples])]
        if not len(hit):
            continue
        # A new run starts wherever the gap is more than two sampling steps.
        breaks = np.flatnonzero(np.diff(hit) > 2 * step)
        starts = np.concatenate([[0], breaks + 1])
        ends = np.concatenate([breaks, [len(hit) - 1]])
        spans += [
            (reason, float(hit[a]), float(hit[b] + step)) for a, b in zip(starts, ends, strict=True)
        ]
    return spans
