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
from charts.captions import footnote, header
from charts.data import COLUMNS, decimate, limitation_spans, panel_data
from charts.draw import (
    draw_panel,
    legend_handles,
    mark_events,
    shade_limitations,
    time_axis,
    y_limits,
)
from charts.panels import FOCUS_WORDS, PANELS, focus_choices, focus_key, resolve_focus
from charts.png import to_png
from charts.style import COMPARE_WIDTH_IN, DPI, FOOTER_IN, HEADER_IN, PANEL_IN, WIDTH_IN
from providers.models import Report

__all__ = [
    "COLUMNS",
    "FOCUS_WORDS",
    "PANELS",
    "decimate",
    "focus_choices",
    "focus_key",
    "render",
    "render_compare",
    "resolve_focus",
]


def _empty_png(report: Report, verdict: Verdict | None, what: str = "quality stats") -> bytes:
    fig = Figure(figsize=(WIDTH_IN, 3.0), dpi=DPI)
    header(fig, 0.02, 0.95, report, verdict)
    fig.text(
        0.5, 0.45, f"No {what} returned", fontsize=22, ha="center", va="center", color="#555555"
    )
    note = footnote(report, [])
    if note:
        fig.text(0.02, 0.06, note, fontsize=11, color="#555555")
    return to_png(fig)


LEFT, WIDE_LEFT, RIGHT, WSPACE = 0.08, 0.065, 0.985, 0.12


def _left(width_in: float) -> float:
    return LEFT if width_in <= WIDTH_IN else WIDE_LEFT


def _layout(fig: Figure, rows: int, height: float) -> dict:
    return {
        "left": _left(fig.get_figwidth()),
        "right": RIGHT,
        "top": 1 - HEADER_IN / height,
        "bottom": FOOTER_IN / height + 0.35 / height,
        "hspace": 0.42,
        "wspace": WSPACE,
    }


PIXELS_PER_BUCKET = 2  # a min and a max per two pixel columns: one point per column


def _columns(width_in: float, panels_across: int = 1) -> int:
    """How many time buckets a series is decimated to in one panel of a figure `width_in`
    wide: its plot area's pixel columns, two per bucket. Finer costs drawing time (measured:
    a tenth more for an hour-long call) and shows nothing more at this resolution."""
    across = (RIGHT - _left(width_in)) * width_in * DPI
    pixels = across / (panels_across + WSPACE * (panels_across - 1))
    return int(pixels) // PIXELS_PER_BUCKET


def render(report: Report, verdict: Verdict | None = None, *, focus: str | None = None) -> bytes:
    """The PNG chart of one participant. `focus` narrows it to "audio", "video", "network" or
    one metric (see `focus_choices()`); ValueError for an unknown word."""
    keys, media = resolve_focus(focus)
    rows = [d for d in panel_data(report, keys, media, _columns(WIDTH_IN)) if d.lines]
    rng = report.time_range()
    if not rows or rng is None:
        what = "quality stats" if focus is None else f"{focus} data"
        return _empty_png(report, verdict, what)
    empty = [PANELS[k].title.lower() for k in keys if k not in {d.panel.key for d in rows}]
    height = HEADER_IN + FOOTER_IN + 0.35 + PANEL_IN * len(rows) * (1.6 if len(rows) == 1 else 1)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    axes = fig.subplots(len(rows), 1, squeeze=False, gridspec_kw=_layout(fig, len(rows), height))[
        :, 0
    ]
    spans = limitation_spans(report)
    for ax, data in zip(axes, rows, strict=True):
        draw_panel(ax, data, verdict)
        lim = y_limits([data])
        if lim:
            ax.set_ylim(*lim)
    shade_limitations(axes, rows, spans)
    mark_events(axes, report, label=True)
    time_axis(axes, *rng)
    header(fig, 0.01, 1 - 0.12 / height, report, verdict)
    handles = legend_handles([report], [rows], spans)
    fig.legend(
        handles=handles,
        loc="upper right",
        bbox_to_anchor=(0.985, 1 - 0.78 / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    note = footnote(report, empty)
    if note:
        fig.text(0.01, 0.12 / height, note, fontsize=10, color="#555555")
    return to_png(fig)


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
    keys, media = resolve_focus(focus)
    columns = _columns(COMPARE_WIDTH_IN, 2)
    data_a, data_b = panel_data(a, keys, media, columns), panel_data(b, keys, media, columns)
    pairs = [(x, y) for x, y in zip(data_a, data_b, strict=True) if x.lines or y.lines]
    ranges = [a.time_range(), b.time_range()]
    if not pairs:
        return _empty_png(a, verdict_a, "quality stats for either participant")
    length = max((r[1] - r[0]) for r in ranges if r is not None)
    height = HEADER_IN + 0.3 + FOOTER_IN + 0.35 + PANEL_IN * len(pairs)
    fig = Figure(figsize=(COMPARE_WIDTH_IN, height), dpi=DPI)
    grid = fig.subplots(
        len(pairs),
        2,
        sharey="row",
        squeeze=False,
        gridspec_kw=_layout(fig, len(pairs), height),
    )
    reports, verdicts = (a, b), (verdict_a, verdict_b)
    for row, pair in enumerate(pairs):
        for col, data in enumerate(pair):
            draw_panel(grid[row, col], data, verdicts[col])
            if not data.lines:  # say so, rather than leave an empty frame to be misread
                grid[row, col].text(
                    0.5,
                    0.5,
                    "no data",
                    transform=grid[row, col].transAxes,
                    ha="center",
                    va="center",
                    fontsize=12,
                    color="#777777",
                )
        lim = y_limits(list(pair))
        if lim:
            grid[row, 0].set_ylim(*lim)
    all_spans = []
    for col, report in enumerate(reports):
        axes = grid[:, col]
        spans = limitation_spans(report)
        all_spans += spans
        shade_limitations(axes, [p[col] for p in pairs], spans)
        mark_events(axes, report, label=True)
        start = ranges[col][0] if ranges[col] else (ranges[1 - col] or (0.0, 0.0))[0]
        time_axis(axes, start, start + length)
        x = 0.065 if col == 0 else 0.535
        header(fig, x, 1 - 0.12 / height, report, verdicts[col], 14, COMPARE_WIDTH_IN / 2 - 0.4)
        note = footnote(report, [])
        if note:
            fig.text(x, 0.12 / height, note, fontsize=9, color="#555555")
    for ax in grid[:, 1]:
        ax.set_ylabel("")
    handles = legend_handles(list(reports), [[*p] for p in pairs], all_spans)
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.95 / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    return to_png(fig)
