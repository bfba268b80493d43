"""What grading produces: Grade, Finding and Verdict.

Kept apart from the grading itself so that the modules building findings (thresholds, findings)
and the ones showing them (render, console, charts) share these types without an import cycle.
`bot.verdicts` re-exports all three with `grade()`; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from providers.models import Direction, Media


class Grade(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"

    @property
    def emoji(self) -> str:
        return {
            Grade.GOOD: ":large_green_circle:",
            Grade.FAIR: ":large_yellow_circle:",
            Grade.POOR: ":red_circle:",
            Grade.UNKNOWN: ":white_circle:",
        }[self]

    @property
    def word(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        # For "worst of": unknown ranks below good, so known data decides when there is any.
        return {Grade.UNKNOWN: -1, Grade.GOOD: 0, Grade.FAIR: 1, Grade.POOR: 2}[self]


@dataclass
class Finding:
    """One graded component. `metric` is a Metric value (e.g. "loss_pct") or a pseudo-metric
    such as "quality_limitation" / "relay" / "warning"; `text` is one sentence for a human that
    names the metric, the side (send/receive) and when."""

    metric: str
    grade: Grade
    text: str
    media: Media | None = None
    direction: Direction | None = None
    p50: float | None = None
    p90: float | None = None
    since: float | None = None  # Unix seconds where the problem started
    until: float | None = None
    duration_s: float | None = None  # time spent at this grade's level, in total
    estimated: bool = False  # graded from a series we derived (E-model MOS)
    cause: str | None = None  # the likely cause, in words, when the data shows one
    summary: str = ""  # the headline fragment after "Poor: "

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "grade": self.grade.value,
            "text": self.text,
            "media": self.media.value if self.media else None,
            "direction": self.direction.value if self.direction else None,
            "p50": self.p50,
            "p90": self.p90,
            "since": self.since,
            "until": self.until,
        }


@dataclass
class Verdict:
    grade: Grade
    headline: str  # "Poor: packet loss on receive (audio), 8-15 % from 14:01 to 14:04 UTC"
    findings: list[Finding] = field(default_factory=list)  # worst first
    unknown: list[str] = field(default_factory=list)  # what could not be graded, in words

    def as_dict(self) -> dict:
        return {
            "grade": self.grade.value,
            "headline": self.headline,
            "findings": [f.as_dict() for f in self.findings],
            "unknown": list(self.unknown),
        }
