"""From samples to episodes in time, and from episodes to a series' grade.

A sample at time t covers [t, t + d) where d is the time to the next sample (at most
MAX_GAP_FACTOR sampling intervals: a longer gap is missing data, not a long sample). Everything
below is measured in seconds, never in samples, so the same call grades the same at 1 s, 2 s,
10 s or 30 s sampling:

- Runs of bad samples (fair or poor level) are joined across gaps shorter than JOIN_GAP_S
  while the joined stretch still averages a bad level, so a burst with one clean sample inside
  stays one burst, and scattered blips do not chain into a long "problem".
- Each episode has a start, an end, its time-weighted mean (its typical value, which is what a
  coarser sampler would have reported), its worst sample and an impact: severity-seconds,
  where severity is 0 at the fair edge and 1 at the poor edge (`thresholds.assess`). Samples a
  hair over the fair edge (severity < MILD_SEVERITY) add no impact.
- An episode is a problem when it lasts MIN_EPISODE_S or more and either weighs MIN_IMPACT or
  lasts LONG_EPISODE_S at a typical severity of MILD_SEVERITY or more. Anything shorter or
  lighter is a spike: mentioned with its time, never graded.
- A problem that lies wholly in the first or last EDGE_S of the participant's session is a
  join/leave effect: Fair at most.
- The series is Poor when its poor-level problem episodes weigh POOR_IMPACT (two minutes at the
  poor edge, 25 s of 20 % loss, 5 s of a total dropout), or POOR_SHARE of the series' length on
  shorter calls;
  Fair when it has any problem or join/leave episode; else Good.
- A series of one or two samples cannot show persistence: it is graded from its mean, and the
  verdict says the call was short.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.grading.thresholds import HIGHER_IS_WORSE, assess, normal_of
from bot.grading.types import Episode, EpisodeKind, Grade
from providers.models import Metric, Series

JOIN_GAP_S = 5.0  # "gaps shorter than a few seconds join episodes"
MIN_EPISODE_S = 15.0  # shorter than this is a spike, whatever its height
MIN_IMPACT = 30.0  # severity-seconds: 30 s at the poor edge, 60 s halfway into the fair band
MILD_SEVERITY = 0.25  # loss 2 %, jitter 15 ms, RTT 250 ms, MOS 3.78: below this, no weight
LONG_EPISODE_S = 120.0  # a mild impairment held this long counts however light
POOR_IMPACT = 120.0  # poor-level severity-seconds that make the call Poor
POOR_SHARE = 0.25  # ... or this share of the series' length, for short calls
EDGE_S = 30.0  # join/leave window
EDGE_MIN_CALL_S = 120.0  # on a call shorter than this there is no "middle" to compare with
SHORT_SAMPLES = 2  # a series this short is graded from its mean
MAX_GAP_FACTOR = 3.0
LONE_SAMPLE_S = 10.0  # the assumed length of a sample when there is only one
MAX_SPIKES = 3
MENTION_MILD_S = 60.0  # a light stretch is worth a word when it lasts this long


@dataclass
class GradedSeries:
    """One series graded: its samples, their coverage, levels and episodes."""

    series: Series
    grade: Grade
    t: np.ndarray
    v: np.ndarray
    d: np.ndarray  # seconds each sample covers
    levels: np.ndarray
    severity: np.ndarray
    normal: float | None
    p10: float
    p50: float
    p90: float
    episodes: list[Episode] = field(default_factory=list)  # problem and edge, in time order
    spikes: list[Episode] = field(default_factory=list)  # spikes and mild stretches, worst first
    short: bool = False

    @property
    def key(self):
        return self.series.media, self.series.direction, self.series.metric

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1] + self.d[-1])

    @property
    def problems(self) -> list[Episode]:
        return [e for e in self.episodes if e.kind not in (EpisodeKind.SPIKE, EpisodeKind.MILD)]

    @property
    def worst_episode(self) -> Episode | None:
        eps = self.problems
        return max(eps, key=lambda e: (e.level, e.impact)) if eps else None

    @property
    def bad_time_s(self) -> float:
        return sum(e.duration_s for e in self.problems)


def arrays(series: Series) -> tuple[np.ndarray, np.ndarray]:
    v = np.array(series.values, dtype=float)  # None -> nan
    t = np.asarray(series.times[: len(v)], dtype=float)
    v = v[: len(t)]
    keep = ~np.isnan(v)
    t, v = t[keep], v[keep]
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def coverage(t: np.ndarray) -> np.ndarray:
    """Seconds each sample covers: up to the next one, bounded by a few intervals."""
    if len(t) == 1:
        return np.array([LONE_SAMPLE_S])
    gaps = np.diff(t)
    step = float(np.median(gaps)) or 1.0
    d = np.minimum(np.append(gaps, step), MAX_GAP_FACTOR * step)
    return np.maximum(d, 1e-3)


def _mean(v: np.ndarray, d: np.ndarray) -> float:
    return float(np.average(v, weights=d))


def _runs(bad: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], bad.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class _Scale:
    """Levels and severity of any value of one series (its normal fixed)."""

    def __init__(self, series: Series, normal: float | None):
        self.metric, self.media, self.normal = series.metric, series.media, normal
        self.lower_is_worse = series.metric not in HIGHER_IS_WORSE
        self._edges = HIGHER_IS_WORSE.get(series.metric)

    def level(self, value: float) -> int:
        if self._edges is not None:  # the common case, without building an array
            fair, poor = self._edges
            return (value >= fair) + (value > poor)
        got = assess(self.metric, self.media, np.array([value]), self.normal)
        return int(got[0][0]) if got is not None else 0

    def severity(self, value: float) -> float:
        got = assess(self.metric, self.media, np.array([value]), self.normal)
        return float(got[1][0]) if got is not None else 0.0

    def worst(self, v: np.ndarray) -> float:
        return float(v.min() if self.lower_is_worse else v.max())


def _trim(runs: list[tuple[int, int]], levels: np.ndarray) -> tuple[int, int]:
    """The joined span without lone fringe blips below the episode's own peak level: a 2 %
    sample three seconds before a 20 % burst does not move the burst's start."""
    peak = max(int(levels[a:b].max()) for a, b in runs)
    while len(runs) > 1 and levels[runs[0][0] : runs[0][1]].max() < peak:
        runs = runs[1:]
    while len(runs) > 1 and levels[runs[-1][0] : runs[-1][1]].max() < peak:
        runs = runs[:-1]
    return runs[0][0], runs[-1][1]


def find_episodes(
    t: np.ndarray,
    v: np.ndarray,
    d: np.ndarray,
    levels: np.ndarray,
    severity: np.ndarray,
    scale: _Scale,
    span: tuple[float, float],
) -> tuple[list[Episode], list[Episode]]:
    """(problem and edge episodes in time order, spikes worst first)."""
    ends = t + d
    # Prefix sums: the time-weighted mean of any stretch in O(1), however many runs there are.
    area = np.concatenate(([0.0], np.cumsum(v * d)))
    span_s = np.concatenate(([0.0], np.cumsum(d)))
    groups: list[list[tuple[int, int]]] = []  # runs of bad samples joined into one episode
    for a, b in _runs(levels >= 1):
        if groups:
            pa, pb = groups[-1][0][0], groups[-1][-1][1]
            mean = (area[b] - area[pa]) / (span_s[b] - span_s[pa])
            if t[a] - ends[pb - 1] < JOIN_GAP_S and scale.level(float(mean)) >= 1:
                groups[-1].append((a, b))
                continue
        groups.append([(a, b)])
    joined = [_trim(g, levels) for g in groups]

    call_start, call_end = span
    edges_apply = call_end - call_start >= EDGE_MIN_CALL_S
    episodes, spikes = [], []
    for a, b in joined:
        if ends[b - 1] - t[a] < MIN_EPISODE_S and levels[a:b].max() < 2:
            continue  # a short fair-level blip: neither a problem nor worth a mention
        typical = float((area[b] - area[a]) / (span_s[b] - span_s[a]))
        sev = severity[a:b]
        weight = np.where(sev >= MILD_SEVERITY, sev, 0.0) * d[a:b]
        ep = Episode(
            start=float(t[a]),
            end=float(ends[b - 1]),
            level=max(1, scale.level(typical)),
            typical=typical,
            worst=scale.worst(v[a:b]),
            impact=float(weight.sum()),
        )
        # The whole episode weighs when it is poor on average: counting only its poor samples
        # would make a burst split across coarse samples weigh less than the same burst sampled
        # finely (severity is linear, so the sum over the episode is what stays the same).
        ep.poor_impact = ep.impact if ep.level == 2 else 0.0
        long_enough = ep.duration_s >= MIN_EPISODE_S
        heavy = ep.impact >= MIN_IMPACT
        held = ep.duration_s >= LONG_EPISODE_S and scale.severity(typical) >= MILD_SEVERITY
        if not (long_enough and (heavy or held)):
            light = scale.severity(typical) < MILD_SEVERITY
            ep.kind = EpisodeKind.MILD if light else EpisodeKind.SPIKE
            # Worth a mention: a spike that reached the poor level, or a long light stretch.
            if (ep.kind == EpisodeKind.SPIKE and scale.level(ep.worst) == 2) or (
                ep.kind == EpisodeKind.MILD and ep.duration_s >= MENTION_MILD_S
            ):
                spikes.append(ep)
            continue
        if edges_apply and ep.end <= call_start + EDGE_S + 1e-6:
            ep.kind, ep.edge = EpisodeKind.EDGE, "join"
        elif edges_apply and ep.start >= call_end - EDGE_S - 1e-6:
            ep.kind, ep.edge = EpisodeKind.EDGE, "leave"
        episodes.append(ep)
    spikes.sort(key=lambda e: (e.kind == EpisodeKind.MILD, -scale.severity(e.worst)))
    return episodes, spikes[:MAX_SPIKES]


def grade_series(series: Series, span: tuple[float, float] | None = None) -> GradedSeries | None:
    """The series graded from its episodes, or None: nothing to grade or no scale."""
    if not series.values:
        return None
    t, v = arrays(series)
    if series.metric == Metric.HEIGHT:  # 0 px is "no video", not a resolution
        keep = v > 0
        t, v = t[keep], v[keep]
    if not len(v):
        return None
    normal = normal_of(series.metric, series.media, v)
    got = assess(series.metric, series.media, v, normal)
    if got is None:
        return None
    levels, severity = got
    d = coverage(t)
    p10, p50, p90 = (float(x) for x in np.percentile(v, [10, 50, 90]))
    scale = _Scale(series, normal)
    g = GradedSeries(series, Grade.GOOD, t, v, d, levels, severity, normal, p10, p50, p90)
    if span is None:
        span = (g.start, g.end)
    if len(v) <= SHORT_SAMPLES:
        g.short = True
        typical = _mean(v, d)
        level = scale.level(typical)
        g.grade = Grade.of_level(level)
        if level:
            g.episodes = [
                Episode(g.start, g.end, level, typical, scale.worst(v), EpisodeKind.SHORT_CALL)
            ]
        return g
    g.episodes, g.spikes = find_episodes(t, v, d, levels, severity, scale, span)
    problems = [e for e in g.episodes if e.kind == EpisodeKind.PROBLEM]
    poor = sum(e.poor_impact for e in problems if e.level == 2)
    length = max(g.end - g.start, 1.0)
    if problems and poor > 0 and (poor >= POOR_IMPACT or poor >= POOR_SHARE * length):
        g.grade = Grade.POOR
    elif g.episodes:
        g.grade = Grade.FAIR
    return g
