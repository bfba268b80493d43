"""Time-series charts of one participant's call quality: render(report) -> PNG bytes.

Stacked panels share a UTC time axis: quality (MOS), packet loss, jitter, RTT, bitrate, frame
rate and resolution. Send is solid, receive dashed, colour tells the media. Loss, jitter, RTT
and MOS panels carry the grading thresholds as green/yellow/red bands, so the chart and the
verdict always agree. Built on `matplotlib.figure.Figure` with the Agg canvas (never pyplot:
it keeps global state and is not thread-safe in a server).

This module lays the figure out; the parts live beside it: `panels` (what a panel shows and the
focus words), `data` (report -> lines), `draw` (onto the axes), `captions` (header and
footnote), `png` (the encoder) and `style` (sizes and colours).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bot.grading import Verdict
from charts.captions import footnote, footnote_lines, header, header_for, line_in
from charts.data import COLUMNS, decimate, limitation_spans, panel_data
from charts.draw import (
    draw_panel,
    event_strip,
    legend_handles,
    mark_events,
    no_data,
    shade_episodes,
    shade_limitations,
    time_axis,
    y_limits,
)
from charts.panels import (
    FOCUS_WORDS,
    PANELS,
    focus_choices,
    focus_key,
    focus_title,
    resolve_focus,
)
from charts.png import to_png
from charts.style import COMPARE_WIDTH_IN, DPI, PANEL_IN, WIDTH_IN
from providers.models import Report

__all__ = [
    "COLUMNS",
    "FOCUS_WORDS",
    "PANELS",
    "compare_figure",
    "decimate",
    "figure",
    "focus_choices",
    "focus_key",
    "render",
    "render_compare",
    "resolve_focus",
]


TOP_IN = 0.12  # above the header
LEGEND_IN = 0.4  # the legend's row, under the header
STRIP_IN = 0.5  # the event labels' strip, over the panels
TITLE_IN = 0.34  # a panel's title, over its frame
AXIS_IN = 0.62  # tick labels and the axis label, under the bottom panel
FOOT_SIZE = 10
LEFT, WIDE_LEFT, RIGHT, WSPACE = 0.08, 0.065, 0.985, 0.12
PIXELS_PER_BUCKET = 2  # a min and a max per two pixel columns: one point per column


def _left(width_in: float) -> float:
    return LEFT if width_in <= WIDTH_IN else WIDE_LEFT


def _columns(width_in: float, panels_across: int = 1) -> int:
    """How many time buckets a series is decimated to in one panel of a figure `width_in`
    wide: its plot area's pixel columns, two per bucket. Finer costs drawing time (measured:
    a tenth more for an hour-long call) and shows nothing more at this resolution."""
    across = (RIGHT - _left(width_in)) * width_in * DPI
    pixels = across / (panels_across + WSPACE * (panels_across - 1))
    return int(pixels) // PIXELS_PER_BUCKET


def _footer_in(lines: list[str], size: float = FOOT_SIZE) -> float:
    return (len(lines) * line_in(size) + 0.12) if lines else 0.1


def _empty_figure(report: Report, verdict: Verdict | None, what: str = "quality stats") -> Figure:
    head = header_for(report, verdict, WIDTH_IN - 0.25)
    foot = footnote_lines(footnote(report, []), WIDTH_IN - 0.25, 11)
    height = TOP_IN + head.height_in + 1.6 + _footer_in(foot, 11)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    header(fig, 0.02, 1 - TOP_IN / height, head)
    middle = (_footer_in(foot, 11) + 0.8) / height
    fig.text(0.5, middle, f"No {what} returned", fontsize=22, ha="center", va="center")
    if foot:
        fig.text(0.02, 0.06 / height, "\n".join(foot), fontsize=11, color="#555555")
    return fig


def _empty_png(report: Report, verdict: Verdict | None, what: str = "quality stats") -> bytes:
    return to_png(_empty_figure(report, verdict, what))


def _strip(fig: Figure, ax_top, height: float, strip_in: float):
    """An axes for the event labels just over the top panel's title."""
    pos = ax_top.get_position()
    bottom = pos.y1 + TITLE_IN / height
    return fig.add_axes((pos.x0, bottom, pos.width, strip_in / height))


def figure(report: Report, verdict: Verdict | None = None, *, focus: str | None = None) -> Figure:
    """The chart of one participant as a Figure (see `render`)."""
    keys, media = resolve_focus(focus)
    rows = [d for d in panel_data(report, keys, media, _columns(WIDTH_IN)) if d.lines]
    rng = report.time_range()
    if not rows or rng is None:
        what = "quality stats" if focus is None else f"{focus} data"
        return _empty_figure(report, verdict, what)
    empty = [PANELS[k].title.lower() for k in keys if k not in {d.panel.key for d in rows}]
    head = header_for(
        report, verdict, WIDTH_IN * 0.985 - 0.12, what=focus_title(focus) if focus else None
    )
    foot = footnote_lines(footnote(report, empty), WIDTH_IN * 0.98, FOOT_SIZE)
    strip_in = STRIP_IN if report.events else 0.0
    above = TOP_IN + head.height_in + LEGEND_IN + strip_in + TITLE_IN
    below = AXIS_IN + _footer_in(foot)
    panels_in = PANEL_IN * len(rows) * (1.6 if len(rows) == 1 else 1)
    height = above + panels_in + below
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    layout = {
        "left": LEFT,
        "right": RIGHT,
        "top": 1 - above / height,
        "bottom": below / height,
        "hspace": 0.42,
    }
    axes = fig.subplots(len(rows), 1, squeeze=False, gridspec_kw=layout)[:, 0]
    spans = limitation_spans(report)
    for ax, data in zip(axes, rows, strict=True):
        draw_panel(ax, data, verdict)
        lim = y_limits([data])
        if lim:
            ax.set_ylim(*lim)
    shade_limitations(axes, rows, spans)
    episodes = shade_episodes(axes, rows, verdict, bool(spans))
    strip = None
    if strip_in:
        strip = _strip(fig, axes[0], height, strip_in)
        event_strip(strip, *rng)
    time_axis(axes, *rng)
    mark_events(axes, report, strip)
    header(fig, 0.01, 1 - TOP_IN / height, head)
    handles = legend_handles([report], [rows], spans, episodes)
    fig.legend(
        handles=handles,
        loc="upper right",
        bbox_to_anchor=(0.985, 1 - (TOP_IN + head.height_in + 0.02) / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    if foot:
        fig.text(0.01, 0.08 / height, "\n".join(foot), fontsize=FOOT_SIZE, color="#555555")
    return fig


def render(report: Report, verdict: Verdict | None = None, *, focus: str | None = None) -> bytes:
    """The PNG chart of one participant. `focus` narrows it to "audio", "video", "network" or
    one metric (see `focus_choices()`); ValueError for an unknown word."""
    return to_png(figure(report, verdict, focus=focus))


def compare_figure(
    a: Report,
    b: Report,
    verdict_a: Verdict | None = None,
    verdict_b: Verdict | None = None,
    *,
    focus: str | None = None,
) -> Figure:
    """Two participants side by side as a Figure (see `render_compare`)."""
    keys, media = resolve_focus(focus)
    columns = _columns(COMPARE_WIDTH_IN, 2)
    data_a, data_b = panel_data(a, keys, media, columns), panel_data(b, keys, media, columns)
    pairs = [(x, y) for x, y in zip(data_a, data_b, strict=True) if x.lines or y.lines]
    ranges = [a.time_range(), b.time_range()]
    if not pairs:
        return _empty_figure(a, verdict_a, "quality stats for either participant")
    reports, verdicts = (a, b), (verdict_a, verdict_b)
    column_in = COMPARE_WIDTH_IN * (0.985 - 0.535) - 0.1  # the right column's room
    what = focus_title(focus) if focus else None
    heads = [header_for(r, v, column_in, 14, what) for r, v in zip(reports, verdicts, strict=True)]
    foots = [footnote_lines(footnote(r, []), column_in, 9) for r in reports]
    strip_in = STRIP_IN if a.events or b.events else 0.0
    head_in = max(h.height_in for h in heads)
    above = TOP_IN + head_in + LEGEND_IN + strip_in + TITLE_IN
    below = AXIS_IN + max(_footer_in(f, 9) for f in foots)
    height = above + PANEL_IN * len(pairs) + below
    fig = Figure(figsize=(COMPARE_WIDTH_IN, height), dpi=DPI)
    layout = {
        "left": WIDE_LEFT,
        "right": RIGHT,
        "top": 1 - above / height,
        "bottom": below / height,
        "hspace": 0.42,
        "wspace": WSPACE,
    }
    grid = fig.subplots(len(pairs), 2, sharey="row", squeeze=False, gridspec_kw=layout)
    for row, pair in enumerate(pairs):
        for col, data in enumerate(pair):
            draw_panel(grid[row, col], data, verdicts[col])
            if not data.lines:  # say so, rather than leave an empty frame to be misread
                no_data(grid[row, col])
        lim = y_limits(list(pair))
        if lim:
            grid[row, 0].set_ylim(*lim)
    all_spans = []
    episodes = False
    length = max((r[1] - r[0]) for r in ranges if r is not None)
    for col, report in enumerate(reports):
        axes = grid[:, col]
        spans = limitation_spans(report)
        all_spans += spans
        rows = [p[col] for p in pairs]
        shade_limitations(axes, rows, spans)
        episodes = shade_episodes(axes, rows, verdicts[col], bool(spans)) or episodes
        start = ranges[col][0] if ranges[col] else (ranges[1 - col] or (0.0, 0.0))[0]
        strip = None
        if strip_in and report.events:
            strip = _strip(fig, axes[0], height, strip_in)
            event_strip(strip, start, start + length)
        time_axis(axes, start, start + length)
        mark_events(axes, report, strip)
        x = 0.065 if col == 0 else 0.535
        header(fig, x, 1 - TOP_IN / height, heads[col])
        if foots[col]:
            fig.text(x, 0.08 / height, "\n".join(foots[col]), fontsize=9, color="#555555")
    for ax in grid[:, 1]:
        ax.set_ylabel("")
    handles = legend_handles(list(reports), [[*p] for p in pairs], all_spans, episodes)
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - (TOP_IN + head_in + 0.02) / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    return fig


def render_compare(
    a: Report,
    b: Report,
    verdict_a: Verdict | None = None,
    verdict_b: Verdict | None = None,
    *,
    focus: str | None = None,
) -> bytes:
    """Two participants side by side: same panels per row, the same y scale on each row and
    the same length of time on both columns (each starting at its own call's start)."""
    return to_png(compare_figure(a, b, verdict_a, verdict_b, focus=focus))
