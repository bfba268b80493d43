"""Drawing onto a chart's axes: a panel's lines, threshold bands and title, the y range, event
markers, limitation shading, the shared UTC time axis and the legend's entries.

Each function draws on axes it is given and leaves the figure's layout to its caller. Tick
objects and text layout are the costliest part of a draw, hence the shortcuts noted below.
"""

from __future__ import annotations

from datetime import UTC

from matplotlib import dates as mdates
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from bot import grading as v
from bot.grading import Grade, Verdict
from charts.data import SECONDS_PER_DAY, PanelData
from charts.panels import VIDEO_PANELS, Panel
from charts.style import (
    BAND_ALPHA,
    BAND_COLOURS,
    DIRECTION_STYLES,
    EVENT_STYLES,
    GRADE_COLOURS,
    LIMITATION_COLOURS,
    MEDIA_COLOURS,
)
from providers.models import Direction, Media, Metric, Report


def draw_panel(ax, data: PanelData, verdict: Verdict | None, show_title: bool = True) -> None:
    """Bands, lines, y scale and title of one panel; the title takes the colour of the
    verdict's worst finding on the panel's metrics."""
    panel = data.panel
    for (lo, hi), colour in zip(panel.bands, BAND_COLOURS, strict=False):
        ax.axhspan(lo, hi, color=colour, alpha=BAND_ALPHA, lw=0, zorder=0)
    for line in data.lines:
        s = line.series
        ax.plot(
            line.x,
            line.y,
            color=MEDIA_COLOURS[s.media],
            ls=":" if s.estimated else DIRECTION_STYLES[s.direction],
            lw=1.6,
            drawstyle="steps-post" if s.metric == Metric.HEIGHT else "default",
            zorder=3,
        )
    if panel.log:
        ax.set_yscale("log")
        # Log axes add a dozen minor ticks per decade; each tick is costly to lay out.
        ax.yaxis.set_minor_locator(NullLocator())
        # Plain numbers: the default 10^x labels go through the (slow) mathtext parser.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))
    ax.set_ylabel(panel.ylabel, fontsize=11)
    ax.grid(True, axis="y", color="#dddddd", lw=0.6, zorder=1)
    ax.tick_params(labelsize=10)
    if show_title:
        title, colour = _panel_title(data, verdict)
        # A plain text, not set_title: title placement measures every tick label (slow).
        ax.text(
            0.0,
            1.03,
            title,
            transform=ax.transAxes,
            fontsize=12,
            color=colour,
            fontweight="bold",
            va="bottom",
        )


def _panel_title(data: PanelData, verdict: Verdict | None) -> tuple[str, str]:
    panel = data.panel
    title = panel.title
    if panel.key == "mos":
        if any(ln.series.estimated for ln in data.lines):
            title = "Quality (MOS; dotted = estimated)"
        if any(ln.series.metric == Metric.SCORE for ln in data.lines):
            title += " - provider quality score"
    worst = _worst_for(panel, verdict)
    if worst is None or worst.grade in (Grade.GOOD, Grade.UNKNOWN):
        return title, "#222222"
    where = (
        f" on {worst.direction.value} ({v.MEDIA_WORDS[worst.media]})"
        if worst.direction and worst.media
        else ""
    )
    return f"{title} - {worst.grade.word.upper()}{where}", GRADE_COLOURS[worst.grade]


def _worst_for(panel: Panel, verdict: Verdict | None) -> v.Finding | None:
    if verdict is None:
        return None
    names = {m.value for m in panel.metrics}
    return next((f for f in verdict.findings if f.metric in names), None)


def y_limits(data_rows: list[PanelData]) -> tuple[float, float] | None:
    """The y range shared by panels of one kind (a row when comparing); None leaves a log
    axis to matplotlib."""
    panel = data_rows[0].panel
    if panel.fixed:
        return panel.fixed
    if panel.log:
        return None
    top = max(d.ymax() for d in data_rows)
    if panel.key == "resolution":
        return 0.0, max(top * 1.15, v.HEIGHT_GOOD_PX * 1.1)
    return 0.0, max(top * 1.1, panel.floor_top or 0.0, 1.0)


def mark_events(axes, report: Report, label: bool) -> None:
    """A dashed line per join/leave/reconnect/... on every panel, labelled on the top one."""
    last_x = None
    span = None
    rng = report.time_range()
    if rng:
        span = max((rng[1] - rng[0]) / SECONDS_PER_DAY, 1e-9)
    for event in sorted(report.events, key=lambda e: e.time):
        style = EVENT_STYLES.get(event.kind)
        if style is None:
            continue
        word, colour = style
        x = event.time.timestamp() / SECONDS_PER_DAY
        for ax in axes:
            ax.axvline(x, color=colour, lw=1.2, ls=(0, (4, 2)), zorder=4, alpha=0.85)
        # Labels closer than 4 % of the call would overprint: the line alone still shows.
        if label and (last_x is None or span is None or (x - last_x) / span > 0.04):
            # Near the right edge the label goes left of its line so it stays in the panel.
            right = (
                rng is not None and span is not None and (x - rng[0] / SECONDS_PER_DAY) / span > 0.9
            )
            axes[0].annotate(
                word,
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3 if right else 3, -3),
                textcoords="offset points",
                fontsize=10,
                fontweight="bold",
                color=colour,
                ha="right" if right else "left",
                va="top",
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                zorder=6,
            )
            last_x = x


def shade_limitations(axes, rows: list[PanelData], spans: list[tuple[str, float, float]]) -> None:
    # Encoder limitation is about the video a participant sends: shade the video panels only,
    # so the threshold bands of the network panels stay readable.
    video = [ax for ax, d in zip(axes, rows, strict=True) if d.panel.key in VIDEO_PANELS]
    for reason, a, b in spans:
        for ax in video:
            ax.axvspan(
                a / SECONDS_PER_DAY,
                b / SECONDS_PER_DAY,
                color=LIMITATION_COLOURS[reason],
                alpha=0.22,
                lw=0,
                zorder=0.5,
            )


def time_axis(axes, start: float, end: float) -> None:
    """UTC clock ticks on the bottom panel; the panels above get the same vertical grid
    lines drawn directly (tick objects are the costliest part of a draw)."""
    lo, hi = start / SECONDS_PER_DAY, end / SECONDS_PER_DAY
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=8)
    fmt = "%H:%M" if end - start > 180 else "%H:%M:%S"
    bottom = axes[-1]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=UTC))
    bottom.set_xlabel("time (UTC)", fontsize=11)
    ticks = [
        x for x in locator.tick_values(mdates.num2date(lo), mdates.num2date(hi)) if lo <= x <= hi
    ]
    for ax in axes:
        ax.set_xlim(lo, hi)
        if ax is not bottom:
            ax.xaxis.set_major_locator(NullLocator())
        ax.vlines(
            ticks, 0, 1, transform=ax.get_xaxis_transform(), color="#dddddd", lw=0.6, zorder=1
        )


def legend_handles(reports: list[Report], panels: list[list[PanelData]], spans) -> list:
    """Legend entries for the media, directions and limitations actually drawn."""
    media = {ln.series.media for rows in panels for d in rows for ln in d.lines}
    directions = {ln.series.direction for rows in panels for d in rows for ln in d.lines}
    handles: list = [
        Line2D([], [], color=MEDIA_COLOURS[m], lw=3, label=v.MEDIA_WORDS[m])
        for m in Media
        if m in media
    ]
    handles += [
        Line2D([], [], color="#444444", lw=1.6, ls=DIRECTION_STYLES[d], label=d.value)
        for d in Direction
        if d in directions
    ]
    if any(ln.series.estimated for rows in panels for d in rows for ln in d.lines):
        handles.append(Line2D([], [], color="#444444", lw=1.6, ls=":", label="estimated"))
    for reason in dict.fromkeys(r for r, _, _ in spans):
        handles.append(
            Patch(color=LIMITATION_COLOURS[reason], alpha=0.4, label=f"{reason}-limited")
        )
    return handles
