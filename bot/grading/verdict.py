"""Grade a normalized report: grade(report) -> Verdict.

Every (media, direction, metric) series is graded on its own from its episodes in time
(`episodes`); provider warnings, limitation reasons, freezes, call averages and the media path
add their findings; `causes` ties symptoms to what explains them; the overall grade is the
worst component and the headline names the root cause of the worst one, with that episode's
own value and time. A Good over data that does not cover the network in both directions is
`limited` (`coverage`).
"""

from __future__ import annotations

from bot.grading import words as w
from bot.grading.causes import add_causes, root_of
from bot.grading.coverage import is_limited, reach, triples
from bot.grading.emodel import estimated_mos
from bot.grading.episodes import GradedSeries, grade_series
from bot.grading.findings import (
    freeze_finding,
    limitation_findings,
    relay_finding,
    series_finding,
    summary_findings,
)
from bot.grading.thresholds import NETWORK, audio_presence
from bot.grading.types import Finding, Grade, Verdict
from bot.grading.warnings import warning_findings
from providers.base import provider_label
from providers.models import Direction, Media, Metric, Report

# Finding order within one grade: network causes first, then what they do to the media.
PRIORITY = {
    Metric.LOSS.value: 0,
    Metric.JITTER.value: 1,
    Metric.RTT.value: 2,
    "quality_limitation": 3,
    "freeze": 4,
    Metric.MOS.value: 5,
    Metric.SCORE.value: 6,
    Metric.FPS.value: 7,
    Metric.HEIGHT.value: 8,
    Metric.BITRATE.value: 9,
    "relay": 10,
    "warning": 11,
    "unavailable": 12,
}
MEDIA_ORDER = {m: i for i, m in enumerate(Media)}
METRICS = {m.value for m in Metric}
NETWORK_METRICS = {m.value for m in NETWORK}


def _sort_key(f: Finding):
    return (
        -f.grade.rank,
        0 if f.caused_by is None else 1,
        PRIORITY.get(f.metric, 99),
        -(f.duration_s or 0.0),
        MEDIA_ORDER.get(f.media, 99) if f.media else 99,
        0 if f.direction == Direction.RECEIVE else 1,
    )


def _span(report: Report) -> tuple[float, float] | None:
    """The participant's session: join to leave when known, else the samples' range."""
    rng = report.time_range()
    p = report.participant
    start = p.joined_at.timestamp() if p.joined_at else (rng[0] if rng else None)
    end = p.left_at.timestamp() if p.left_at else None
    if end is None and rng is not None:
        end = rng[1]
    if start is None or end is None or end <= start:
        return None
    return start, end


def _symptom(f: Finding) -> str:
    """What a root cause did, for the headline: "frame rate on send (video) down to 8 fps"."""
    where = w.side(f.media, f.direction) if f.media and f.direction else ""
    if f.metric == "freeze":
        return w.freeze_effect(where, f.duration_s or 0.0)
    if f.metric not in METRICS:
        return w.component(f.metric, where)
    metric = Metric(f.metric)
    worst = max(f.episodes, key=lambda e: (e.level, e.impact), default=None)
    value = w.qty(worst.typical, metric) if worst else None
    return w.metric_effect(w.label(metric, f.estimated), where, value, metric in NETWORK)


def _graded_names(findings: list[Finding], graded: list[GradedSeries]) -> list[str]:
    names: list[str] = []
    for g in sorted(graded, key=lambda g: PRIORITY[g.series.metric.value]):
        word = w.SHORT[g.series.metric]
        if audio_presence(g.series.metric, g.series.media):
            continue  # said only when it is all there is (below)
        if word not in names:
            names.append(word)
    if any(f.metric == "quality_limitation" for f in findings):
        names.append("CPU/bandwidth limitation")
    return names or ["audio delivery"] if graded else names


def _headline(verdict_grade: Grade, findings: list[Finding]) -> str:
    lead = findings[0]
    root = root_of(lead)
    text = w.problem_headline(verdict_grade.word, root.summary)
    if root is not lead:
        text += w.because_of(_symptom(lead))
    elif root.cause and root.metric in NETWORK_METRICS:
        text += w.headline_cause(root.cause)  # where the loss, jitter or delay came from
    return text


def grade(report: Report) -> Verdict:
    """Grade one participant's report. Never raises for missing data: what is absent is
    graded UNKNOWN and named in `unknown`."""
    span = _span(report)
    series = [s for s in report.series if not (s.metric == Metric.MOS and s.estimated)]
    series += estimated_mos(report)
    graded: list[GradedSeries] = []
    unknown = list(report.missing)
    notes: list[str] = []
    for s in series:
        g = grade_series(s, span)
        if g is not None:
            graded.append(g)
        elif s.metric == Metric.SCORE and any(v is not None for v in s.values):
            unknown.append(w.score_unknown_scale(w.side(s.media, s.direction)))

    findings = [series_finding(g) for g in graded]
    findings += [f for g in graded if (f := freeze_finding(g)) is not None]
    findings += summary_findings(report, {g.key for g in graded})
    findings += limitation_findings(report)
    findings += warning_findings(report)
    components = len(findings)
    relay = relay_finding(report, findings)
    if relay is not None:
        findings.append(relay)
    add_causes(findings, bool(report.network.relayed))
    findings.sort(key=_sort_key)

    short = [g for g in graded if g.short]
    if short:
        notes.append(w.short_call_note(max(len(g.v) for g in short)))
    coverage = triples(findings)
    # "packet loss" is not unknown when a provider warning said how much there was.
    warned = {
        w.label(Metric(f.metric)) for f in findings if f.source == "warning" and f.metric in METRICS
    }
    unknown = [w.only_warned(u) if u in warned else u for u in unknown]
    limited = is_limited(coverage)

    if components == 0:
        headline = w.unknown_headline(provider_label(report.provider), report.has_stats)
        return Verdict(Grade.UNKNOWN, headline, findings, unknown, coverage, True, notes)

    overall = max((f.grade for f in findings), key=lambda g: g.rank)
    if overall != Grade.GOOD:
        headline = _headline(overall, findings)
    elif limited:
        who = provider_label(report.provider)
        headline = w.limited_headline(who, reach(coverage), _graded_names(findings, graded))
    else:
        headline = w.good_headline(_graded_names(findings, graded))
    if unknown and overall in (Grade.GOOD, Grade.FAIR):
        headline += w.not_seen(unknown)
        findings.append(
            Finding(metric="unavailable", grade=Grade.UNKNOWN, text=w.unavailable(unknown))
        )
    for f in findings:
        f.text = w.dated_once(f.text)
    verdict = Verdict(overall, w.dated_once(headline), findings, unknown, coverage, limited, notes)
    if overall != Grade.GOOD:
        verdict.lead = root_of(findings[0])
    return verdict
