"""Causes before symptoms: which finding explains which, and the words for it.

A cause must overlap in time with what it explains. The chains, from the root:
- CPU or bandwidth limitation of the encoder -> the frame rate, resolution, bitrate or freeze
  of the same track on send;
- packet loss on send -> the same drops on send (the sender backs off); on receive -> drops and
  freezes on receive;
- packet loss, jitter and round-trip time -> the MOS of that side (RTT belongs to the path,
  whichever side measured it);
- loss and jitter are rooted in this participant's uplink (send), downlink (receive), or its
  network (both); high RTT without loss or jitter on that side in a distant server or a relay.
A provider MOS or score that is bad while loss, jitter and RTT of that side were graded and
stayed good is reported as that disagreement and held at Fair; a score on the provider's own
scale is never more than Fair on its own.
"""

from __future__ import annotations

from bot.grading import words as w
from bot.grading.types import Finding, Grade
from providers.models import Direction, Media, Metric

DROPS = (Metric.FPS.value, Metric.HEIGHT.value, Metric.BITRATE.value, "freeze")
NETWORK = (Metric.LOSS.value, Metric.JITTER.value, Metric.RTT.value)
SCORES = (Metric.MOS.value, Metric.SCORE.value)
OVERLAP_SLACK_S = 5.0


def _bad(findings: list[Finding], metric: str, direction: Direction | None = None) -> list[Finding]:
    return [
        f
        for f in findings
        if f.metric == metric
        and f.is_problem
        and (direction is None or f.direction is None or f.direction == direction)
    ]


def _overlapping(f: Finding, candidates: list[Finding]) -> list[Finding]:
    return [c for c in candidates if c is not f and c.overlaps(f, OVERLAP_SLACK_S)]


def _link(f: Finding, cause: Finding, words: str) -> None:
    f.caused_by = cause
    f.cause = words


def _network_root(f: Finding, findings: list[Finding], relayed: bool) -> None:
    if f.metric in (Metric.LOSS.value, Metric.JITTER.value):
        send = _bad(findings, Metric.LOSS.value, Direction.SEND)
        recv = _bad(findings, Metric.LOSS.value, Direction.RECEIVE)
        if f.metric == Metric.LOSS.value and send and recv and f.direction is not None:
            f.cause = w.CAUSE_BOTH
        elif f.direction == Direction.SEND:
            f.cause = w.CAUSE_UPLINK
        elif f.direction == Direction.RECEIVE:
            f.cause = w.CAUSE_DOWNLINK
    elif f.metric == Metric.RTT.value:
        same = [
            x
            for x in _bad(findings, Metric.LOSS.value, f.direction)
            + _bad(findings, Metric.JITTER.value, f.direction)
            if x.grade == Grade.POOR
        ]
        if not same:
            f.cause = w.CAUSE_DISTANT_RELAY if relayed else w.CAUSE_DISTANT


def _drop_cause(f: Finding, findings: list[Finding]) -> None:
    if f.direction == Direction.SEND:
        limits = [
            x
            for x in _bad(findings, "quality_limitation", Direction.SEND)
            if x.media in (None, f.media)
        ]
        got = _overlapping(f, limits)
        if got:
            _link(f, got[0], got[0].cause or "")
            return
        got = _overlapping(f, _bad(findings, Metric.LOSS.value, Direction.SEND))
        if got:
            _link(f, got[0], w.CAUSE_UPLINK)
    elif f.direction == Direction.RECEIVE:
        got = _overlapping(f, _bad(findings, Metric.LOSS.value, Direction.RECEIVE))
        if got:
            _link(f, got[0], w.CAUSE_RECEIVE_LOSS)


def _graded_clean(findings: list[Finding], direction: Direction | None) -> list[str]:
    """The network metrics of a side that were graded from samples and stayed good."""
    names = []
    for metric in NETWORK:
        mine = [
            f
            for f in findings
            if f.metric == metric
            and f.source == "samples"
            and (metric == Metric.RTT.value or direction is None or f.direction == direction)
        ]
        if mine and all(not f.is_problem for f in mine):
            names.append(w.label(Metric(metric)))
    return names


def _score_cause(f: Finding, findings: list[Finding]) -> None:
    drivers = [
        x
        for m in (Metric.LOSS.value, Metric.JITTER.value)
        for x in _bad(findings, m, f.direction)
        if x.media in (None, f.media, Media.CONNECTION)
    ]
    drivers += _bad(findings, Metric.RTT.value)
    got = _overlapping(f, drivers) or ([] if not f.estimated else drivers)
    if got:
        order = {m: i for i, m in enumerate(NETWORK)}
        root = max(got, key=lambda x: (x.grade.rank, -order[x.metric]))
        where = w.side(root.media, root.direction) if root.media and root.direction else ""
        _link(f, root, w.the(w.label(Metric(root.metric)), where))
        return
    if f.estimated:
        return
    clean = _graded_clean(findings, f.direction)
    # Loss and one of jitter/RTT graded clean: the network disagrees with the provider's score.
    if w.label(Metric.LOSS) in clean and len(clean) >= 2:
        name = w.label(Metric(f.metric))
        where = w.side(f.media, f.direction) if f.media and f.direction else ""
        worst = min((e.worst for e in f.episodes), default=f.p50 or 0.0)
        f.text = w.score_disagrees(name, where, w.qty(worst, Metric(f.metric)), clean)
        f.summary = w.score_disagrees_summary(name, where, w.qty(worst, Metric(f.metric)), clean)
        f.grade = Grade.FAIR
    elif f.metric == Metric.SCORE.value:
        f.grade = Grade.FAIR if f.grade == Grade.POOR else f.grade
        f.text += w.score_not_mos()


def add_causes(findings: list[Finding], relayed: bool) -> None:
    """Fill in `cause` and `caused_by` of every problem finding; adjust provider scores."""
    for f in findings:
        if not f.is_problem or f.cause is not None:
            continue
        if f.metric in NETWORK:
            _network_root(f, findings, relayed)
        elif f.metric in DROPS:
            _drop_cause(f, findings)
        elif f.metric in SCORES:
            _score_cause(f, findings)
    for f in findings:
        if f.is_problem and f.cause and "Likely cause" not in f.text:
            f.text += w.caused(f.cause)


def root_of(f: Finding) -> Finding:
    seen = {id(f)}
    while f.caused_by is not None and id(f.caused_by) not in seen:
        f = f.caused_by
        seen.add(id(f))
    return f
