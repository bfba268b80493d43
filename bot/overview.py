"""A whole session at once: grade every participant of a listing, concurrently and within a
time budget, and rank them worst first.

`rank(listing, grade_one)` runs `grade_one` (one participant's full lookup) for each row's
command on a small pool of its own; rows still running when the budget is spent are listed as
not graded instead of holding the answer back. `shared_cause` tells a problem most participants
had at the same time (the media server or a region) from one participant's own trouble (their
network or device). Pure data out: the Slack and terminal renderers word it.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.grading import Grade, Verdict, grade
from providers.base import Lookup
from providers.errors import CallQualityError
from providers.models import Listing, ListingRow, Report

if TYPE_CHECKING:
    from bot.lookup import Outcome

log = logging.getLogger("callquality.overview")

WORKERS = 4  # participants graded at once: each lookup may itself fan out (Stream windows)
BUDGET_S = 40.0  # below the lookup time limit, so a slow session still answers in time
MAX_PARTICIPANTS = 50  # graded in one overview; the rest keep their command in the listing


@dataclass
class Ranked:
    """One participant of the overview: its listing row and, when graded, its outcome."""

    row: ListingRow
    lookup: Lookup | None = None
    outcome: Outcome | None = None
    error: str | None = None  # why it could not be graded, in words for a person
    from_summary: bool = False  # graded from the provider's summary, not a full lookup

    @property
    def verdict(self) -> Verdict | None:
        return self.outcome.verdict if self.outcome is not None else None

    @property
    def name(self) -> str:
        report = self.outcome.report if self.outcome is not None else None
        if report is not None and report.participant.display_name:
            return report.participant.display_name
        return self.row.name or self.row.id

    @property
    def command(self) -> str | None:
        return self.lookup.command() if self.lookup is not None else self.row.command


@dataclass
class Overview:
    listing: Listing
    ranked: list[Ranked] = field(default_factory=list)  # worst first
    pending: list[ListingRow] = field(default_factory=list)  # not graded within the budget
    skipped: int = 0  # rows beyond MAX_PARTICIPANTS
    shared: str | None = None  # the whole-call reading, in words
    budget_s: float = BUDGET_S

    @property
    def from_summary(self) -> bool:
        return any(r.from_summary for r in self.ranked)

    @property
    def graded(self) -> list[Ranked]:
        return [r for r in self.ranked if r.verdict is not None]

    @property
    def worst(self) -> Ranked | None:
        graded = [r for r in self.graded if r.outcome is not None and r.outcome.report]
        return graded[0] if graded else None

    @property
    def worst_grade(self) -> Grade:
        return max(
            (r.verdict.grade for r in self.graded), key=lambda g: g.rank, default=Grade.UNKNOWN
        )  # type: ignore[union-attr]

    def at_least(self, threshold: Grade) -> list[Ranked]:
        """The participants graded `threshold` or worse, worst first."""
        return [r for r in self.graded if r.verdict and r.verdict.grade.rank >= threshold.rank]


def _sort_key(r: Ranked) -> tuple:
    v = r.verdict
    if v is None:
        return (1, 0, 0.0, r.name)  # not graded: after every graded participant
    lead = v.findings[0] if v.findings else None
    limited_good = v.limited_good
    return (
        0,
        -v.grade.rank - (0.5 if limited_good else 0),
        -((lead and lead.duration_s) or 0.0),
        r.name,
    )


def _row_lookup(row: ListingRow, parse: Callable[[list[str]], object]) -> Lookup | None:
    if not row.command:
        return None
    try:
        parsed = parse(shlex.split(row.command))
    except (CallQualityError, ValueError):
        return None
    return parsed if isinstance(parsed, Lookup) else None


def rank(
    listing: Listing,
    grade_one: Callable[[Lookup], Outcome],
    *,
    workers: int = WORKERS,
    budget_s: float = BUDGET_S,
    parse: Callable[[list[str]], object] | None = None,
) -> Overview:
    """Grade every row of `listing` with `grade_one` and rank them worst first."""
    if parse is None:
        from bot.commands import parse_words as parse
    rows = listing.rows[:MAX_PARTICIPANTS]
    overview = Overview(listing, skipped=max(0, len(listing.rows) - len(rows)), budget_s=budget_s)
    items = [Ranked(row, _row_lookup(row, parse)) for row in rows]
    for item in items:
        if item.lookup is None:
            item.error = "no lookup command for this row"
        elif item.row.summary is not None:
            # The provider summarised this participant already: one request served them all.
            item.outcome = _summary_outcome(item.lookup, item.row.summary)
            item.from_summary = True
    todo = [item for item in items if item.lookup is not None and item.outcome is None]

    def one(item: Ranked) -> None:
        assert item.lookup is not None
        try:
            item.outcome = grade_one(item.lookup)
        except CallQualityError as exc:
            item.error = str(exc)
        except Exception:
            log.exception("grading %s failed", item.lookup.command())
            item.error = "the lookup failed"

    done_items: list[Ranked] = []
    if todo:
        pool = ThreadPoolExecutor(max(1, min(workers, len(todo))), thread_name_prefix="overview")
        futures = {pool.submit(one, item): item for item in todo}
        done, not_done = wait(futures, timeout=budget_s)
        # A thread cannot be stopped: the late ones finish unseen and are listed as pending.
        pool.shutdown(wait=False, cancel_futures=True)
        done_items = [futures[f] for f in done]
        overview.pending = [futures[f].row for f in not_done]
    finished = set(map(id, done_items))
    overview.ranked = sorted(
        [i for i in items if id(i) in finished or i.from_summary or i.lookup is None],
        key=_sort_key,
    )
    overview.shared = shared_cause(overview.ranked)
    return overview


def _summary_outcome(lookup: Lookup, report: Report) -> Outcome:
    from bot.lookup import Outcome

    return Outcome(lookup, report, grade(report), 0.0)


def _problem_windows(verdict: Verdict) -> list[tuple[float, float]]:
    return [w for f in verdict.findings if f.is_problem for w in f.windows()]


def shared_cause(ranked: list[Ranked]) -> str | None:
    """Most participants in trouble at the same time points at what they share (the media
    server or a region); one participant alone, at their own network or device."""
    graded = [r for r in ranked if r.verdict is not None and r.verdict.grade != Grade.UNKNOWN]
    troubled = [r for r in graded if r.verdict.grade.rank >= Grade.FAIR.rank]  # type: ignore[union-attr]
    if not troubled or len(graded) < 2:
        return None
    windows = {id(r): _problem_windows(r.verdict) for r in troubled}  # type: ignore[arg-type]
    best, at = 0, None
    for t in sorted({a for ws in windows.values() for a, _ in ws}):
        count = sum(any(a <= t <= b for a, b in ws) for ws in windows.values())
        if count > best:
            best, at = count, t
    if best >= 2 and best * 2 > len(graded):
        from bot.grading.words import clock

        return SHARED.format(n=best, total=len(graded), when=clock(at) if at else "")
    if len(troubled) == 1:
        return ALONE.format(name=troubled[0].name, others=len(graded) - 1)
    if best * 2 > len(graded) or len(troubled) * 2 > len(graded):
        return SPREAD_MOST.format(n=len(troubled), total=len(graded))
    return SPREAD.format(n=len(troubled), total=len(graded))


SHARED = (
    "{n} of {total} participants had problems at the same time (from {when}): "
    "likely a shared cause (the media server or a region), not each one's network."
)
ALONE = (
    "Only {name} had problems; the other {others} stayed fine: "
    "likely {name}'s own network or device."
)
SPREAD = (
    "{n} of {total} participants had problems, at different times: "
    "likely each one's own network or device."
)
SPREAD_MOST = (
    "{n} of {total} participants had problems, but not at the same time: "
    "no single shared cause is visible."
)
