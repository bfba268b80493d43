"""From a report to what a chart draws: the lines of each panel, and limitation spans.

Times become matplotlib date numbers here, and long series are downsampled so an hour sampled
every second draws as fast as five minutes, without losing its spikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot import grading as v
from bot.grading import estimated_mos
from charts.panels import PANELS, Panel
from providers.models import Media, Metric, Report, Series

MAX_POINTS = 600  # per series; buckets keep their min and max so spikes survive
SECONDS_PER_DAY = 86400.0  # matplotlib date numbers are days since 1970-01-01 (its epoch)
LIMITATION_REASONS = ("cpu", "bandwidth")  # the kinds of encoder limitation a chart shades


def downsample(t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS):
    """At most `max_points` points: each bucket keeps its min and max in time order, so a
    one-sample spike in an hour-long call still shows. NaN gaps stay gaps."""
    n = len(t)
    if n <= max_points:
        return t, y
    size = int(np.ceil(n / (max_points // 2)))
    buckets = int(np.ceil(n / size))
    pad = buckets * size - n
    tt = np.concatenate([t, np.full(pad, t[-1])]).reshape(buckets, size)
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, size)
    empty = np.isnan(yy).all(axis=1)
    lo = np.nanargmin(np.where(np.isnan(yy), np.inf, yy), axis=1)
    hi = np.nanargmax(np.where(np.isnan(yy), -np.inf, yy), axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    rows = np.arange(buckets)
    t_out = np.column_stack([tt[rows, first], tt[rows, second]]).ravel()
    y_out = np.column_stack([yy[rows, first], yy[rows, second]])
    y_out[empty] = np.nan
    return t_out, y_out.ravel()


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


def _line(series: Series, log: bool = False) -> Line | None:
    y = np.array(series.values, dtype=float)
    if not len(y) or np.isnan(y).all():
        return None
    t = np.asarray(series.times[: len(y)], dtype=float)
    if log:
        y = np.where(y > 0, y, np.nan)
    t, y = downsample(t, y)
    return Line(series, t / SECONDS_PER_DAY, y)


def panel_data(
    report: Report, keys: tuple[str, ...], media: frozenset[Media] | None
) -> list[PanelData]:
    """One `PanelData` per key, in order, holding the report's series for that panel (only
    those of `media` when given); a panel may come back with no lines."""
    out = []
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
            line = _line(s, panel.log)
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
