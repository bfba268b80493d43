"""The text around a chart's panels: the header (grade badge, participant, provider, network
path and the verdict's headline) and the footnote naming what the provider did not supply."""

from __future__ import annotations

from matplotlib.figure import Figure

from bot.grading import Grade, Verdict
from charts.style import GRADE_COLOURS, LIMITED_COLOUR, WIDTH_IN
from providers.base import provider_label
from providers.models import Report


def header(
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
    badge = verdict.badge if verdict else grade.word.upper()
    colour = LIMITED_COLOUR if verdict and badge != grade.word.upper() else GRADE_COLOURS[grade]
    fig.text(
        x,
        y,
        f" {badge} ",
        fontsize=size,
        fontweight="bold",
        color="white",
        va="top",
        bbox={"boxstyle": "round,pad=0.25", "fc": colour, "ec": "none"},
    )
    # The badge is as wide as its word: leave room for UNKNOWN as well as POOR.
    badge_in = 0.105 * WIDTH_IN + max(0, len(badge) - 4) * 0.17 * size / 16
    fig.text(
        x + badge_in / fig.get_figwidth(),
        y,
        "  ·  ".join(
            x
            for x in (
                report.participant_name,
                provider_label(report.provider),
                report.network.path_text(),
            )
            if x
        ),
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


def footnote(report: Report, empty: list[str]) -> str:
    parts = []
    if report.missing:
        who = provider_label(report.provider)
        parts.append(f"Not supplied by {who}: {', '.join(report.missing)}.")
    if empty:
        parts.append(f"No data for: {', '.join(empty)}.")
    return " ".join(parts)
