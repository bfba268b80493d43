"""Time-series charts of one participant's call quality: render(report) -> PNG bytes.

Stacked panels share a UTC time axis: quality (MOS), packet loss, jitter, RTT, bitrate, frame
rate and resolution. Send is solid, receive dashed, colour tells the media. Loss, jitter, RTT
and MOS panels carry the grading thresholds as green/yellow/red bands, so the chart and the
verdict always agree. Built on `matplotlib.figure.Figure` with the Agg canvas (never pyplot:
it keeps global state and is not thread-safe in a server).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from bot import verdicts as v
from bot.emodel import estimated_mos
from bot.verdicts import Grade, Verdict
from providers.base import provider_label
from providers.models import Direction, EventKind, Media, Metric, Report, Series

DPI = 100
WIDTH_IN = 12.0  # 1200 px: Slack's preview width
COMPARE_WIDTH_IN = 15.0
PANEL_IN = 1.6
HEADER_IN = 1.45
FOOTER_IN = 0.55
MAX_POINTS = 600  # per series; buckets keep their min and max so spikes survive
PNG_BAND_ROWS = 64  # rows per zlib call when encoding
SECONDS_PER_DAY = 86400.0  # matplotlib date numbers are days since 1970-01-01 (its epoch)

GRADE_COLOURS = {
    Grade.GOOD: "#2e9e44",
    Grade.FAIR: "#d9a400",
    Grade.POOR: "#d62728",
    Grade.UNKNOWN: "#8c8c8c",
}
BAND_COLOURS = ("#2e9e44", "#f2c200", "#d62728")  # good, fair, poor
BAND_ALPHA = 0.10
MEDIA_COLOURS = {
    Media.AUDIO: "#1f5fbf",
    Media.VIDEO: "#8e3fb0",
    Media.SCREEN_AUDIO: "#17a2b8",
    Media.SCREEN_VIDEO: "#a0522d",
    Media.CONNECTION: "#333333",
}
DIRECTION_STYLES = {Direction.SEND: "-", Direction.RECEIVE: "--"}
EVENT_STYLES = {  # kind -> (short label, colour)
    EventKind.JOIN: ("join", "#555555"),
    EventKind.LEAVE: ("leave", "#555555"),
    EventKind.RECONNECT: ("reconnect", "#d2691e"),
    EventKind.DEVICE_CHANGE: ("device", "#1f77b4"),
    EventKind.WARNING: ("warning", "#b8860b"),
}
LIMITATION_COLOURS = {"cpu": "#9e9e9e", "bandwidth": "#f4a460"}
INF = 1e9


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    ylabel: str
    metrics: tuple[Metric, ...]
    bands: tuple[tuple[float, float], ...] = ()  # (low, high) for good, fair, poor in order
    floor_top: float | None = None  # the y range always reaches this, so bands show
    log: bool = False
    fixed: tuple[float, float] | None = None


PANELS: dict[str, Panel] = {
    p.key: p
    for p in (
        Panel(
            "mos",
            "Quality (MOS)",
            "MOS (1-5)",
            (Metric.MOS, Metric.SCORE),
            ((v.MOS_GOOD, 5.0), (v.MOS_POOR, v.MOS_GOOD), (0.0, v.MOS_POOR)),
            fixed=(1.0, 4.6),
        ),
        Panel(
            "loss",
            "Packet loss",
            "loss (%)",
            (Metric.LOSS,),
            ((0.0, v.LOSS_FAIR_PCT), (v.LOSS_FAIR_PCT, v.LOSS_POOR_PCT), (v.LOSS_POOR_PCT, INF)),
            floor_top=v.LOSS_POOR_PCT * 1.6,
        ),
        Panel(
            "jitter",
            "Jitter",
            "jitter (ms)",
            (Metric.JITTER,),
            (
                (0.0, v.JITTER_FAIR_MS),
                (v.JITTER_FAIR_MS, v.JITTER_POOR_MS),
                (v.JITTER_POOR_MS, INF),
            ),
            floor_top=v.JITTER_POOR_MS * 1.4,
        ),
        Panel(
            "rtt",
            "Round-trip time",
            "RTT (ms)",
            (Metric.RTT,),
            ((0.0, v.RTT_FAIR_MS), (v.RTT_FAIR_MS, v.RTT_POOR_MS), (v.RTT_POOR_MS, INF)),
            floor_top=v.RTT_POOR_MS * 1.3,
        ),
        Panel("bitrate", "Bitrate", "kbps (log)", (Metric.BITRATE,), log=True),
        Panel("fps", "Frame rate", "frames/s", (Metric.FPS,), floor_top=32.0),
        Panel("resolution", "Resolution (frame height)", "height (px)", (Metric.HEIGHT,)),
        Panel("buffer", "Jitter buffer delay", "delay (ms)", (Metric.JITTER_BUFFER,)),
    )
}
# The full chart; the jitter buffer is drawn only when asked for (`chart buffer`).
DEFAULT_PANELS = ("mos", "loss", "jitter", "rtt", "bitrate", "fps", "resolution")
NETWORK = ("loss", "jitter", "rtt")
VIDEO_PANELS = ("bitrate", "fps", "resolution")
FOCUS_PANELS: dict[str, tuple[tuple[str, ...], frozenset[Media] | None]] = {
    "audio": (
        ("mos", "loss", "jitter", "rtt", "bitrate"),
        frozenset({Media.AUDIO, Media.CONNECTION}),
    ),
    "video": (
        ("loss", "jitter", "rtt", "bitrate", "fps", "resolution"),
        frozenset({Media.VIDEO, Media.SCREEN_VIDEO, Media.CONNECTION}),
    ),
    "network": (NETWORK, None),
}
FOCUS_WORDS = {  # accepted words -> panel key
    "loss": "loss",
    "packetloss": "loss",
    "packet_loss": "loss",
    Metric.LOSS.value: "loss",
    "jitter": "jitter",
    Metric.JITTER.value: "jitter",
    "rtt": "rtt",
    "latency": "rtt",
    Metric.RTT.value: "rtt",
    "bitrate": "bitrate",
    "bandwidth": "bitrate",
    Metric.BITRATE.value: "bitrate",
    "fps": "fps",
    "framerate": "fps",
    "frame_rate": "fps",
    "resolution": "resolution",
    "height": "resolution",
    Metric.HEIGHT.value: "resolution",
    "mos": "mos",
    "quality": "mos",
    "score": "mos",
    Metric.SCORE.value: "mos",
    "buffer": "buffer",
    "jitter_buffer": "buffer",
    Metric.JITTER_BUFFER.value: "buffer",
}
# The words offered to users, in this order; every other accepted word is a synonym.
FOCUS_CHOICES = (
    *FOCUS_PANELS,
    *("loss", "jitter", "rtt", "bitrate", "fps", "resolution", "mos", "buffer"),
)


def focus_choices() -> list[str]:
    """The focus words to offer: the media groups, then one word per panel."""
    return list(FOCUS_CHOICES)


def focus_key(focus: str) -> str | None:
    """The canonical focus word (`audio`, `loss`, ...) for any accepted word, else None."""
    word = focus.strip().lower().replace("-", "_").replace(" ", "_")
    if word in FOCUS_PANELS:
        return word
    return FOCUS_WORDS.get(word)


def resolve_focus(focus: str | None) -> tuple[tuple[str, ...], frozenset[Media] | None]:
    """Panel keys and media filter for a focus word; ValueError names the valid words."""
    if focus is None:
        return DEFAULT_PANELS, None
    key = focus_key(focus)
    if key is None:
        raise ValueError(f"Unknown chart `{focus}`; choose one of: {', '.join(focus_choices())}.")
    if key in FOCUS_PANELS:
        return FOCUS_PANELS[key]
    return (key,), None


# --- data --------------------------------------------------------------------------------------


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


def _panel_data(
    report: Report, keys: tuple[str, ...], media: frozenset[Media] | None
) -> list[PanelData]:
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


def _limitation_spans(report: Report) -> list[tuple[str, float, float]]:
    """(reason, start, end) runs of cpu / bandwidth limitation, in Unix seconds."""
    samples = sorted((x.time, x.reason.lower()) for x in report.limitations)
    if not samples:
        return []
    times = np.array([t for t, _ in samples])
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    spans: list[tuple[str, float, float]] = []
    for reason in LIMITATION_COLOURS:
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


def _participant(report: Report) -> str:
    p = report.participant
    return p.display_name or p.user_id or p.custom_id or p.id or "participant"


def _path(report: Report) -> list[str]:
    net = report.network
    if net.relayed:
        return ["relayed via TURN" + (f"/{net.transport.upper()}" if net.transport else "")]
    if (net.transport or "").lower() in ("tcp", "tls"):
        return [f"over {net.transport.upper()}"]
    return []


# --- drawing -----------------------------------------------------------------------------------


def _draw_panel(ax, data: PanelData, verdict: Verdict | None, show_title: bool = True) -> None:
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


def _ylim(data_rows: list[PanelData]) -> tuple[float, float] | None:
    panel = data_rows[0].panel
    if panel.fixed:
        return panel.fixed
    if panel.log:
        return None
    top = max(d.ymax() for d in data_rows)
    if panel.key == "resolution":
        return 0.0, max(top * 1.15, v.HEIGHT_GOOD_PX * 1.1)
    return 0.0, max(top * 1.1, panel.floor_top or 0.0, 1.0)


def _mark_events(axes, report: Report, label: bool) -> None:
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


def _shade_limitations(axes, rows: list[PanelData], spans: list[tuple[str, float, float]]) -> None:
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


def _time_axis(axes, start: float, end: float) -> None:
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


def _legend_handles(reports: list[Report], panels: list[list[PanelData]], spans) -> list:
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


def _footnote(report: Report, empty: list[str]) -> str:
    parts = []
    if report.missing:
        who = provider_label(report.provider)
        parts.append(f"Not supplied by {who}: {', '.join(report.missing)}.")
    if empty:
        parts.append(f"No data for: {', '.join(empty)}.")
    return " ".join(parts)


def _to_png(fig: Figure) -> bytes:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return _png(np.asarray(canvas.buffer_rgba()))


def _png(rgba: np.ndarray) -> bytes:
    """Encode the canvas pixels as a PNG with no row filter and light zlib compression.

    Pillow (behind `savefig`) tries every row filter on every row, which costs more than the
    compression itself; a chart is mostly flat colour, so unfiltered rows compress as well
    (to a smaller file, in fact) in a third of the time. The pixels are the same.
    """
    height, width, _ = rgba.shape
    opaque = bool((rgba[..., 3] == 255).all())
    pixels = rgba[..., :3] if opaque else rgba
    # A band of rows at a time keeps the copies small; each row starts with its filter type
    # (0: none).
    band = np.zeros((PNG_BAND_ROWS, 1 + width * pixels.shape[2]), np.uint8)
    deflate = zlib.compressobj(1)
    data = []
    for top in range(0, height, PNG_BAND_ROWS):
        rows = pixels[top : top + PNG_BAND_ROWS]
        band[: len(rows), 1:] = rows.reshape(len(rows), -1)
        data.append(deflate.compress(band[: len(rows)]))
    data.append(deflate.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    per_metre = round(DPI / 0.0254)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", b"".join(data)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _header(
    fig: Figure,
    x: float,
    y: float,
    report: Report,
    verdict: Verdict | None,
    size: int = 16,
    width: float = WIDTH_IN,
) -> None:
    """Grade badge, participant and provider, and the headline below (`width` in inches is
    the room it has, for truncating the headline)."""
    grade = verdict.grade if verdict else Grade.UNKNOWN
    fig.text(
        x,
        y,
        f" {grade.word.upper()} ",
        fontsize=size,
        fontweight="bold",
        color="white",
        va="top",
        bbox={"boxstyle": "round,pad=0.25", "fc": GRADE_COLOURS[grade], "ec": "none"},
    )
    # The badge is as wide as its word: leave room for UNKNOWN as well as POOR.
    badge_in = 0.105 * WIDTH_IN + max(0, len(grade.word) - 4) * 0.17 * size / 16
    fig.text(
        x + badge_in / fig.get_figwidth(),
        y,
        "  ·  ".join([_participant(report), provider_label(report.provider), *_path(report)]),
        fontsize=size,
        fontweight="bold",
        va="top",
    )
    if verdict is not None:
        headline = verdict.headline
        limit = int(150 * width / WIDTH_IN)
        if len(headline) > limit:
            headline = headline[: limit - 1] + "…"
        fig.text(x, y - 0.42 / fig.get_figheight(), headline, fontsize=size - 4, va="top")


def _empty_png(report: Report, verdict: Verdict | None, what: str = "quality stats") -> bytes:
    fig = Figure(figsize=(WIDTH_IN, 3.0), dpi=DPI)
    _header(fig, 0.02, 0.95, report, verdict)
    fig.text(
        0.5, 0.45, f"No {what} returned", fontsize=22, ha="center", va="center", color="#555555"
    )
    note = _footnote(report, [])
    if note:
        fig.text(0.02, 0.06, note, fontsize=11, color="#555555")
    return _to_png(fig)


def _layout(fig: Figure, rows: int, height: float) -> dict:
    return {
        "left": 0.08 if fig.get_figwidth() <= WIDTH_IN else 0.065,
        "right": 0.985,
        "top": 1 - HEADER_IN / height,
        "bottom": FOOTER_IN / height + 0.35 / height,
        "hspace": 0.42,
        "wspace": 0.12,
    }


def render(report: Report, verdict: Verdict | None = None, *, focus: str | None = None) -> bytes:
    """The PNG chart of one participant. `focus` narrows it to "audio", "video", "network" or
    one metric (see `focus_choices()`); ValueError for an unknown word."""
    keys, media = resolve_focus(focus)
    rows = [d for d in _panel_data(report, keys, media) if d.lines]
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
    spans = _limitation_spans(report)
    for ax, data in zip(axes, rows, strict=True):
        _draw_panel(ax, data, verdict)
        lim = _ylim([data])
        if lim:
            ax.set_ylim(*lim)
    _shade_limitations(axes, rows, spans)
    _mark_events(axes, report, label=True)
    _time_axis(axes, *rng)
    _header(fig, 0.01, 1 - 0.12 / height, report, verdict)
    handles = _legend_handles([report], [rows], spans)
    fig.legend(
        handles=handles,
        loc="upper right",
        bbox_to_anchor=(0.985, 1 - 0.78 / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    note = _footnote(report, empty)
    if note:
        fig.text(0.01, 0.12 / height, note, fontsize=10, color="#555555")
    return _to_png(fig)


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
    data_a, data_b = _panel_data(a, keys, media), _panel_data(b, keys, media)
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
            _draw_panel(grid[row, col], data, verdicts[col])
        lim = _ylim(list(pair))
        if lim:
            grid[row, 0].set_ylim(*lim)
    all_spans = []
    for col, report in enumerate(reports):
        axes = grid[:, col]
        spans = _limitation_spans(report)
        all_spans += spans
        _shade_limitations(axes, [p[col] for p in pairs], spans)
        _mark_events(axes, report, label=True)
        start = ranges[col][0] if ranges[col] else (ranges[1 - col] or (0.0, 0.0))[0]
        _time_axis(axes, start, start + length)
        x = 0.065 if col == 0 else 0.535
        _header(fig, x, 1 - 0.12 / height, report, verdicts[col], 14, COMPARE_WIDTH_IN / 2 - 0.4)
        note = _footnote(report, [])
        if note:
            fig.text(x, 0.12 / height, note, fontsize=9, color="#555555")
    for ax in grid[:, 1]:
        ax.set_ylabel("")
    handles = _legend_handles(list(reports), [[*p] for p in pairs], all_spans)
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.95 / height),
        ncol=len(handles),
        fontsize=10,
        frameon=False,
    )
    return _to_png(fig)
