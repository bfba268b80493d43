"""What a verdict graded, and whether that is enough for a plain Good.

Each graded component is a (media, direction, metric) triple. A green Good needs the network
side graded in both directions: packet loss with jitter or round-trip time (RTT counts for
both sides: it belongs to the path), or a MOS. Short of that the verdict is `limited`: its
Good is "no problem in what the provider reports", with its own marker.
"""

from __future__ import annotations

from bot.grading import words as w
from bot.grading.types import Finding
from providers.models import Direction, Media, Metric

UNKNOWN_SIDE = "unknown"
_GRADED_METRICS = {m.value for m in Metric} | {"quality_limitation", "freeze"}


def triples(findings: list[Finding]) -> list[tuple[str, str, str]]:
    out = set()
    for f in findings:
        if f.metric not in _GRADED_METRICS or f.media is None:
            continue
        direction = f.direction.value if f.direction else UNKNOWN_SIDE
        out.add((f.media.value, direction, f.metric))
    return sorted(out)


def _side_covered(graded: list[tuple[str, str, str]], direction: Direction) -> bool:
    mine = {metric for _m, d, metric in graded if d == direction.value}
    rtt = any(metric == Metric.RTT.value for _m, _d, metric in graded)
    if Metric.MOS.value in mine:
        return True
    return Metric.LOSS.value in mine and (Metric.JITTER.value in mine or rtt)


def is_limited(graded: list[tuple[str, str, str]]) -> bool:
    return not all(_side_covered(graded, d) for d in Direction)


def reach(graded: list[tuple[str, str, str]]) -> str:
    """What the graded data covers, for "No problem in what X reports (...)"."""
    directions = {d for _m, d, _x in graded if d != UNKNOWN_SIDE}
    media = []
    for m in Media:
        if m != Media.CONNECTION and any(x == m.value for x, _d, _y in graded):
            media.append(w.MEDIA_WORDS[m])
    what = w.join_words(media) or "the connection"
    if directions == {Direction.SEND.value}:
        return w.reach_sent(what)
    if directions == {Direction.RECEIVE.value}:
        return w.reach_received(what)
    missing = [d.value for d in Direction if not _side_covered(graded, d)]
    if missing and not any(x == Metric.LOSS.value for _m, _d, x in graded):
        return w.reach_no_loss()
    if missing:
        return w.reach_partial(missing)
    return what
