"""Drawing onto a chart's axes: a panel's lines, threshold bands and title, the y range, event
markers and their labels, problem episodes and limitation shading, the shared UTC time axis
and the legend's entries.

Each function draws on axes it is given and leaves the figure's layout to its caller. Tick
objects and text layout are the costliest part of a draw, hence the shortcuts noted below.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
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
from providers.models import Direction, EventKind, Media, Metric, Report


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
        # A point with no neighbour draws no line: give it a marker so it shows.
        alone = isolated(line.y)
        if alone.any():
            ax.plot(
                line.x[alone],
                line.y[alone],
                ls="none",
                marker="o",
                ms=3.5,
                color=MEDIA_COLOURS[s.media],
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


def isolated(y: np.ndarray) -> np.ndarray:
    """The samples with a value whose neighbours on both sides have none."""
    ok = np.isfinite(y)
    before = np.concatenate([[False], ok[:-1]])
    after = np.concatenate([ok[1:], [False]])
    return ok & ~before & ~after


def no_data(ax, text: str = "no data") -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=12,
        color="#777777",
    )


EVENT_LABEL_SIZE = 9
EVENT_TEXT_CHARS = 28  # a warning's own words, shortened, after its label
EVENT_ROWS = 2  # labels go on the first row they fit on; beyond that only the line shows


def event_label(event) -> str:
    word = EVENT_STYLES[event.kind][0]
    if event.kind == EventKind.WARNING and event.text:
        text = event.text if len(event.text) <= EVENT_TEXT_CHARS else event.text[:27] + "…"
        return f"{word}: {text}"
    return word


def mark_events(axes, report: Report, strip=None) -> None:
    """A dashed line per join/leave/reconnect/... on every panel; with `strip` (an axes above
    the panels, sharing their time range), each line's label sits there, clear of the data,
    on the first of two rows where it overlaps no other label and stays inside the figure."""
    events = [e for e in sorted(report.events, key=lambda e: e.time) if e.kind in EVENT_STYLES]
    for event in events:
        colour = EVENT_STYLES[event.kind][1]
        x = event.time.timestamp() / SECONDS_PER_DAY
        for ax in axes:
            ax.axvline(x, color=colour, lw=1.2, ls=(0, (4, 2)), zorder=4, alpha=0.85)
    if strip is None or not events:
        return
    lo, hi = strip.get_xlim()
    width_in = strip.get_position().width * strip.figure.get_figwidth()
    per_in = (hi - lo) / max(width_in, 1e-6)
    rows: list[list[tuple[float, float]]] = [[] for _ in range(EVENT_ROWS)]
    for event in events:
        text = event_label(event)
        colour = EVENT_STYLES[event.kind][1]
        x = event.time.timestamp() / SECONDS_PER_DAY
        if not lo - 0.02 * (hi - lo) <= x <= hi + 0.02 * (hi - lo):
            continue  # outside the time shown: its line is not drawn either
        x = min(max(x, lo), hi)
        w = (len(text) * EVENT_LABEL_SIZE * 0.62 / 72 + 0.1) * per_in
        right = x + w > hi  # would run past the right border: put it left of its line
        a, b = (x - w, x) if right else (x, x + w)
        if a < lo:
            continue
        row = next(
            (i for i, taken in enumerate(rows) if all(b < p or a > q for p, q in taken)), None
        )
        if row is None:
            continue
        rows[row].append((a, b))
        y = 0.72 - 0.5 * row
        strip.plot([x, x], [0, y], color=colour, lw=1.0, ls=(0, (4, 2)), alpha=0.85)
        strip.text(
            x + (-0.03 if right else 0.03) * per_in,
            y,
            text,
            fontsize=EVENT_LABEL_SIZE,
            fontweight="bold",
            color=colour,
            ha="right" if right else "left",
            va="center",
        )


def event_strip(ax, start: float, end: float) -> None:
    """Make `ax` the bare strip that holds the event labels."""
    ax.set_xlim(start / SECONDS_PER_DAY, end / SECONDS_PER_DAY)
    ax.set_ylim(0, 1)
    ax.set_axis_off()


def episode_spans(panel: Panel, verdict: Verdict | None) -> list[tuple[float, float, Grade]]:
    """The problem episodes of the verdict's findings about this panel's metrics."""
    if verdict is None:
        return []
    names = {metric.value for metric in panel.metrics}
    if panel.key == "fps":
        names.add("freeze")
    # Stretches found on several tracks are shaded once: the union of the poor ones, and of
    # the fair ones outside them.
    found: dict[Grade, list[tuple[float, float]]] = {Grade.FAIR: [], Grade.POOR: []}
    for f in verdict.findings:
        if f.metric in names and f.is_problem:
            for ep in f.episodes:
                if ep.grade in found:
                    found[ep.grade].append((ep.start, ep.end))
    poor = _union(found[Grade.POOR])
    fair = [piece for span in _union(found[Grade.FAIR]) for piece in _minus(span, poor)]
    return sorted([(a, b, Grade.FAIR) for a, b in fair] + [(a, b, Grade.POOR) for a, b in poor])


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _minus(span: tuple[float, float], cuts: list[tuple[float, float]]):
    pieces = [span]
    for c0, c1 in cuts:
        pieces = [p for a, b in pieces for p in ((a, min(b, c0)), (max(a, c1), b)) if p[1] > p[0]]
    return pieces


def shade_episodes(
    axes, rows: list[PanelData], verdict: Verdict | None, limited: bool = False
) -> bool:
    """Shade each problem episode on its panel (lightly, with a solid bar along the top);
    True when anything was shaded. Video panels already shaded for an encoder limitation
    (`limited`) get the bar only, so the two tints do not muddy each other."""
    shaded = False
    for ax, data in zip(axes, rows, strict=True):
        tint = not (limited and data.panel.key in VIDEO_PANELS)
        for a, b, grade in episode_spans(data.panel, verdict):
            x0, x1 = a / SECONDS_PER_DAY, b / SECONDS_PER_DAY
            colour = GRADE_COLOURS[grade]
            if tint:
                ax.axvspan(x0, x1, color=colour, alpha=0.09, lw=0, zorder=0.6)
            ax.axvspan(x0, x1, ymin=0.94, ymax=1.0, color=colour, alpha=0.8, lw=0, zorder=5)
            shaded = True
    return shaded


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


def call_date(start: float, end: float) -> str:
    """ "Fri 20 Nov 2026", or both days when the call crossed midnight (UTC)."""
    first, last = (datetime.fromtimestamp(t, UTC) for t in (start, end))
    text = first.strftime("%a %d %b %Y")
    return text if first.date() == last.date() else f"{text} - {last.strftime('%a %d %b %Y')}"


def time_axis(axes, start: float, end: float) -> None:
    """UTC clock ticks on the bottom panel; the panels above get the same vertical grid
    lines drawn directly (tick objects are the costliest part of a draw)."""
    lo, hi = start / SECONDS_PER_DAY, end / SECONDS_PER_DAY
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=8)
    fmt = "%H:%M" if end - start > 180 else "%H:%M:%S"
    bottom = axes[-1]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=UTC))
    bottom.set_xlabel(f"time (UTC) on {call_date(start, end)}", fontsize=11)
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


def legend_handles(
    reports: list[Report], panels: list[list[PanelData]], spans, episodes: bool = False
) -> list:
    """Legend entries for the media, directions, limitations and episodes actually drawn."""
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
    if episodes:
        handles.append(Patch(color=GRADE_COLOURS[Grade.POOR], alpha=0.3, label="problem"))
    return handles
