"""The other side of the call: when this participant's receive side lost packets or jittered,
did a sender's uplink do the same at the same time?

`attribute(verdict, senders, unreachable)` takes the verdicts of the participants whose media
was received (looked up by the caller, within its time budget) and rewrites the cause of each
receive-side loss or jitter finding: "Ada's uplink: packet loss on send was 10 % at the same
time" when a sender's send side was bad in an overlapping episode, "this participant's
downlink" when every sender's send side was graded and clean then. Without senders the cause
stays "this participant's downlink (or the senders' uplinks)", and a note says why.
"""

from __future__ import annotations

from bot.grading import words as w
from bot.grading.types import Finding, Verdict
from providers.models import Direction, Metric

NETWORK_SIDE = (Metric.LOSS.value, Metric.JITTER.value)
SLACK_S = 5.0


def receive_problems(verdict: Verdict) -> list[Finding]:
    """The findings a sender's uplink could explain."""
    return [
        f
        for f in verdict.findings
        if f.is_problem and f.direction == Direction.RECEIVE and f.metric in NETWORK_SIDE
    ]


def _uplink(f: Finding, other: Verdict) -> Finding | None:
    """The sender's worst send-side loss/jitter problem overlapping `f`, same metric first."""
    hits = [
        g
        for g in other.findings
        if g.is_problem
        and g.direction == Direction.SEND
        and g.metric in NETWORK_SIDE
        and (g.media is None or f.media is None or g.media == f.media)
        and g.overlaps(f, SLACK_S)
    ]
    if not hits:
        return None
    return max(hits, key=lambda g: (g.metric == f.metric, g.grade.rank))


def _graded_send(other: Verdict, f: Finding) -> bool:
    return any(
        m == (f.media.value if f.media else m) and d == Direction.SEND.value and x == f.metric
        for m, d, x in other.coverage
    )


def _set_cause(f: Finding, cause: str) -> None:
    if f.cause and w.caused(f.cause) in f.text:
        f.text = f.text.replace(w.caused(f.cause), w.caused(cause))
    else:
        f.text += w.caused(cause)
    f.cause = cause


def between(name_a: str, a: Verdict, name_b: str, b: Verdict) -> list[str]:
    """For `compare`: whether either one's receive-side problems line up with the other's
    uplink, in the same words as a lookup's attribution. Pure: the verdicts are unchanged."""
    lines = []
    for who, mine, other_name, other in ((name_a, a, name_b, b), (name_b, b, name_a, a)):
        worst_per_metric = {f.metric: f for f in reversed(receive_problems(mine))}
        for f in worst_per_metric.values():
            g = _uplink(f, other)
            if g is not None:
                lines.append(w.compare_matched(who, f, w.sender_uplink(other_name, g)))
            elif _graded_send(other, f):
                lines.append(w.compare_clean(who, f, other_name))
    return list(dict.fromkeys(lines))


def attribute(
    verdict: Verdict, senders: list[tuple[str, Verdict]], unreachable: str | None = None
) -> None:
    """Name the sender (or this participant's downlink) behind each receive-side problem."""
    targets = receive_problems(verdict)
    if not targets:
        return
    lead_cause, lead_was = None, None
    for f in targets:
        blamed = [(name, g) for name, other in senders if (g := _uplink(f, other)) is not None]
        if blamed:
            name, g = max(blamed, key=lambda pair: pair[1].grade.rank)
            cause = w.sender_uplink(name, g)
        else:
            clean = [name for name, other in senders if _graded_send(other, f)]
            if not clean:
                continue
            cause = w.own_downlink(clean)
        if f is verdict.lead:
            lead_cause, lead_was = cause, f.cause
        _set_cause(f, cause)
    if lead_cause:
        old = w.headline_cause(lead_was) if lead_was else None
        if old and verdict.headline.endswith(old):
            verdict.headline = verdict.headline[: -len(old)]
        verdict.headline += w.headline_cause(lead_cause)
    if unreachable:
        verdict.notes.append(w.senders_unreachable(unreachable))
