"""The text around a chart's panels: the header (grade badge, participant, provider, network
path and the verdict's headline) and the footnote naming what the provider did not supply.

Nothing is clipped: the headline and the footnote wrap onto as many lines as they need (up to
a limit, then the last line ends at a word with "…"), and the figure is made tall enough for
them. Widths are measured with the same font renderer that draws the PNG.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from bot.grading import Grade, Verdict
from charts.style import DPI, GRADE_COLOURS, LIMITED_COLOUR
from providers.base import provider_label
from providers.models import Report

LINE_SPACING = 1.3
POINTS_PER_IN = 72.0
HEADLINE_LINES = 4
FOOTNOTE_LINES = 8


def line_in(size: float) -> float:
    """The height of one line of text at `size` points, in inches."""
    return size * LINE_SPACING / POINTS_PER_IN


_measure_lock = threading.Lock()
UNIT_GAP = re.compile(r"(\d) (?=%|(?:ms|s|min|h|fps|kbps|px|p)\b)")


@lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(8, 8, DPI)


def width_in(text: str, size: float, bold: bool = False) -> float:
    """How wide `text` is drawn at `size` points, in inches."""
    font = FontProperties(size=size, weight="bold" if bold else "normal")
    with _measure_lock:  # one renderer, shared by the threads that draw charts
        w, _, _ = _renderer().get_text_width_height_descent(text, font, ismath=False)
    return w / DPI


def fit(text: str, room_in: float, size: float, lines: int, bold: bool = False) -> list[str]:
    """`text` wrapped to `room_in` inches at `size` points, at most `lines` lines; the last one
    ends at a word with "…" when the text had to be shortened."""
    out: list[str] = []
    # A number keeps its unit on its line ("9 fps", "2 min 45 s").
    words = [w for w in UNIT_GAP.sub("\\1\u00a0", text).split(" ") if w]
    current = ""
    while words:
        word = words[0]
        trial = f"{current} {word}" if current else word
        if width_in(trial, size, bold) <= room_in or not current:
            current = trial
            words.pop(0)
            continue
        out.append(current)
        current = ""
        if len(out) == lines:
            break
    if current and len(out) < lines:
        out.append(current)
        current = ""
    if words or current:  # more text than lines: end the last line with "…"
        last = out[-1] if out else ""
        while last and width_in(last + "…", size, bold) > room_in:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        out[-1:] = [last.rstrip(" ,;:·-") + "…"]
    return out or [""]


@dataclass
class Header:
    badge: str
    colour: str
    title: str  # participant · provider · path, on one line
    headline: list[str]  # the verdict's headline, wrapped
    size: int

    @property
    def height_in(self) -> float:
        """From the top of the badge to the bottom of the headline."""
        return line_in(self.size) + 0.12 + len(self.headline) * line_in(self.size - 4)


def header_for(
    report: Report,
    verdict: Verdict | None,
    room_in: float,
    size: int = 16,
    what: str | None = None,
) -> Header:
    """The header's parts, fitted to `room_in` inches; `what` names a focused chart."""
    grade = verdict.grade if verdict else Grade.UNKNOWN
    badge = verdict.badge if verdict else grade.word.upper()
    colour = LIMITED_COLOUR if verdict and badge != grade.word.upper() else GRADE_COLOURS[grade]
    title = "  ·  ".join(
        x
        for x in (
            report.participant_name,
            provider_label(report.provider),
            report.network.path_text(),
            what,
        )
        if x
    )
    title_in = room_in - _badge_in(badge, size) - 0.05
    (title,) = fit(title, title_in, size, 1, bold=True)
    headline = fit(verdict.headline, room_in, size - 4, HEADLINE_LINES) if verdict else []
    return Header(badge, colour, title, headline, size)


def _badge_in(badge: str, size: int) -> float:
    return width_in(f" {badge} ", size, bold=True) + 0.22


def header(fig: Figure, x: float, y: float, head: Header) -> None:
    """Draw `head` with its top-left corner at (x, y) in figure fractions."""
    height = fig.get_figheight()
    fig.text(
        x,
        y,
        f" {head.badge} ",
        fontsize=head.size,
        fontweight="bold",
        color="white",
        va="top",
        bbox={"boxstyle": "round,pad=0.25", "fc": head.colour, "ec": "none"},
    )
    fig.text(
        x + _badge_in(head.badge, head.size) / fig.get_figwidth(),
        y,
        head.title,
        fontsize=head.size,
        fontweight="bold",
        va="top",
    )
    if head.headline:
        fig.text(
            x,
            y - (line_in(head.size) + 0.12) / height,
            "\n".join(head.headline),
            fontsize=head.size - 4,
            va="top",
            linespacing=LINE_SPACING,
        )


def footnote(report: Report, empty: list[str]) -> str:
    parts = []
    if report.missing:
        who = provider_label(report.provider)
        parts.append(f"Not supplied by {who}: {', '.join(report.missing)}.")
    if empty:
        parts.append(f"No data for: {', '.join(empty)}.")
    return " ".join(parts)


def footnote_lines(text: str, room_in: float, size: float) -> list[str]:
    return fit(text, room_in, size, FOOTNOTE_LINES) if text else []
