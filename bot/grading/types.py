"""What grading produces: Grade, Episode, Finding and Verdict.

Kept apart from the grading itself so that the modules building findings and the ones showing
them (the Slack and terminal renderers, charts) share these types without an import cycle.
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

    @staticmethod
    def of_level(level: int) -> Grade:
        return (Grade.GOOD, Grade.FAIR, Grade.POOR)[max(0, min(2, int(level)))]


# A Good over partial data is not the green Good: its own marker, word and chart badge.
LIMITED_EMOJI = ":ballot_box_with_check:"
LIMITED_WORD = "No problem seen"
LIMITED_BADGE = "LIMITED"


class EpisodeKind(StrEnum):
    PROBLEM = "problem"  # long or bad enough to grade the call
    EDGE = "edge"  # only in the first or last seconds of the participant's session
    SPIKE = "spike"  # too short to matter; mentioned with its time
    MILD = "mild"  # long but a hair over the fair edge: mentioned, not graded
    SHORT_CALL = "short_call"  # the whole series is one or two samples


@dataclass
class Episode:
    """A stretch of time a metric spent at a bad level: [start, end) in Unix seconds."""

    start: float
    end: float
    level: int  # 1 fair, 2 poor
    typical: float  # the time-weighted median over the episode
    worst: float  # the worst sample (highest loss, lowest MOS ...)
    kind: EpisodeKind = EpisodeKind.PROBLEM
    impact: float = 0.0  # severity-seconds (1.0 = one second at the poor edge)
    poor_impact: float = 0.0  # the part of `impact` spent at the poor level
    edge: str | None = None  # "join" | "leave" for EDGE episodes

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    @property
    def grade(self) -> Grade:
        return Grade.of_level(self.level)

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "duration_s": round(self.duration_s, 3),
            "grade": self.grade.value,
            "typical": round(self.typical, 3),
            "worst": round(self.worst, 3),
            "kind": self.kind.value,
        }


@dataclass
class Finding:
    """One graded component. `metric` is a Metric value (e.g. "loss_pct") or a pseudo-metric
    such as "quality_limitation" / "freeze" / "relay" / "warning"; `text` is one sentence for a
    human that names the metric, the side (send/receive) and when."""

    metric: str
    grade: Grade
    text: str
    media: Media | None = None
    direction: Direction | None = None
    p50: float | None = None
    p90: float | None = None
    since: float | None = None  # Unix seconds where the (worst) problem started
    until: float | None = None
    duration_s: float | None = None  # time spent in problem episodes, in total
    estimated: bool = False  # graded from a series we derived (E-model MOS)
    cause: str | None = None  # the likely cause, in words, when the data shows one
    caused_by: Finding | None = field(default=None, repr=False)  # the finding that explains it
    summary: str = ""  # the headline fragment after "Poor: "
    episodes: list[Episode] = field(default_factory=list)  # problem and edge episodes
    spikes: list[Episode] = field(default_factory=list)
    source: str = "samples"  # samples | summary | warning | limitation | path

    @property
    def is_problem(self) -> bool:
        return self.grade.rank >= 1

    def windows(self) -> list[tuple[float, float]]:
        """The times this finding covers: its episodes, else its since/until."""
        if self.episodes:
            return [(e.start, e.end) for e in self.episodes]
        if self.since is not None:
            return [(self.since, self.until if self.until is not None else self.since)]
        return []

    def overlaps(self, other: Finding, slack_s: float = 0.0) -> bool:
        return any(
            a0 - slack_s <= b1 and b0 <= a1 + slack_s
            for a0, a1 in self.windows()
            for b0, b1 in other.windows()
        )

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
            "cause": self.cause,
            "episodes": [e.as_dict() for e in self.episodes],
            "spikes": [e.as_dict() for e in self.spikes],
        }


@dataclass
class Verdict:
    grade: Grade
    headline: str  # "Poor: packet loss on receive (audio), 8-15 % from 14:01 to 14:04 UTC"
    findings: list[Finding] = field(default_factory=list)  # worst first
    unknown: list[str] = field(default_factory=list)  # what could not be graded, in words
    coverage: list[tuple[str, str, str]] = field(default_factory=list)  # (media, dir, metric)
    limited: bool = False  # the network side was not graded in both directions
    notes: list[str] = field(default_factory=list)  # short call, provider coverage ...
    lead: Finding | None = field(default=None, repr=False)  # the finding the headline names

    @property
    def limited_good(self) -> bool:
        """A Good over partial data: "no problem in what the provider reports"."""
        return self.grade == Grade.GOOD and self.limited

    @property
    def emoji(self) -> str:
        """The marker to lead with: never the green circle for a Good over partial data."""
        return LIMITED_EMOJI if self.limited_good else self.grade.emoji

    @property
    def word(self) -> str:
        return LIMITED_WORD if self.limited_good else self.grade.word

    @property
    def badge(self) -> str:
        return LIMITED_BADGE if self.limited_good else self.grade.word.upper()

    def as_dict(self) -> dict:
        return {
            "grade": self.grade.value,
            "headline": self.headline,
            "limited": self.limited,
            "coverage": [{"media": m, "direction": d, "metric": x} for m, d, x in self.coverage],
            "findings": [f.as_dict() for f in self.findings],
            "unknown": list(self.unknown),
            "notes": list(self.notes),
        }
