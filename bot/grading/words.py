"""Every sentence grading writes, and the words and numbers inside them: media and metric
names, sides, likely causes, times, durations and values with their units. Plain text: the
Slack and terminal renderers escape or decorate it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.grading.types import Episode, EpisodeKind
from providers.models import LABELS, UNITS, Direction, Media, Metric, Series

MEDIA_WORDS = {
    Media.AUDIO: "audio",
    Media.VIDEO: "video",
    Media.SCREEN_AUDIO: "screenshare audio",
    Media.SCREEN_VIDEO: "screenshare video",
    Media.CONNECTION: "connection",
}
SHORT = {  # metric names for the "no sustained problem in ..." headline
    Metric.LOSS: "loss",
    Metric.JITTER: "jitter",
    Metric.RTT: "RTT",
    Metric.MOS: "MOS",
    Metric.SCORE: "quality score",
    Metric.FPS: "frame rate",
    Metric.HEIGHT: "resolution",
    Metric.BITRATE: "bitrate",
}

CAUSE_DOWNLINK = "this participant's downlink (or the senders' uplinks)"
CAUSE_UPLINK = "this participant's uplink"
CAUSE_BOTH = "this participant's network (loss on both send and receive)"
CAUSE_DISTANT = "a distant server/region or a relay"
CAUSE_DISTANT_RELAY = "a distant server/region or the TURN relay"
CAUSE_CPU = "the device's CPU could not keep up"
CAUSE_BANDWIDTH = "not enough upload bandwidth (this participant's uplink)"
CAUSE_RECEIVE_LOSS = f"the packet loss on receive: {CAUSE_DOWNLINK}"


# --- times, durations, numbers ----------------------------------------------------------------


def _today() -> datetime:
    return datetime.now(UTC)


def clock(t: float, date: bool | None = None) -> str:
    """`14:02:10`, with the date in front when the moment is not today (UTC)."""
    moment = datetime.fromtimestamp(t, UTC)
    if date is None:
        date = moment.date() != _today().date()
    return moment.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def stamp(t: float) -> str:
    """A moment on its own: `14:02:10 UTC` (dated when not today)."""
    return f"{clock(t)} UTC"


def span(start: float, end: float) -> str:
    """`from 14:02:10 to 14:04:30 UTC`; the end carries the date only if it differs."""
    a, b = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    end_text = clock(end, date=a.date() != b.date())
    return f"from {clock(start)} to {end_text} UTC"


def duration(seconds: float) -> str:
    """The one duration format: `20 s`, `3 min 20 s`, `1 h 5 min`."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    minutes = s % 3600 // 60
    return f"{s // 3600} h {minutes} min" if minutes else f"{s // 3600} h"


def num(value: float, metric: Metric | None = None) -> str:
    if metric in (Metric.MOS, Metric.SCORE):
        return f"{value:.2f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if metric == Metric.LOSS and abs(value) < 10 and value != round(value):
        return f"{value:.1f}".removesuffix(".0")  # 7.5 % is not 8 %
    if abs(value) >= 5 or value == round(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def with_unit(text: str, metric: Metric) -> str:
    unit = {Metric.MOS: "", Metric.SCORE: "", Metric.HEIGHT: "p"}.get(metric, None)
    if unit is None:
        unit = " " + {Metric.LOSS: "%"}.get(metric, UNITS[metric])
    return text + unit


def qty(value: float, metric: Metric) -> str:
    return with_unit(num(value, metric), metric)


def value_range(lo: float, hi: float, metric: Metric) -> str:
    a, b = num(lo, metric), num(hi, metric)
    return with_unit(a if a == b else f"{a}-{b}", metric)


def side(media: Media, direction: Direction) -> str:
    return f"on {direction.value} ({MEDIA_WORDS[media]})"


def label(series_or_metric: Series | Metric, estimated: bool = False) -> str:
    metric = series_or_metric.metric if isinstance(series_or_metric, Series) else series_or_metric
    if isinstance(series_or_metric, Series):
        estimated = estimated or series_or_metric.estimated
    if metric == Metric.MOS and estimated:
        return "estimated MOS"
    if metric == Metric.SCORE:
        return "provider quality score"
    return LABELS[metric]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def the(name: str, where: str) -> str:
    return f"the {name} {where}".rstrip()


def component(name: str, where: str) -> str:
    """`packet loss on receive (audio)`: what a finding is about, without figures."""
    return f"{name.replace('_', ' ')} {where}".strip()


def sentence(text: str) -> str:
    return f"{text}."


def also(text: str) -> str:
    return f"; {text}"


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def over(transport: str | None) -> str:
    return f" over {transport.upper()}" if transport else ""


def score_unknown_scale(where: str) -> str:
    return f"provider quality score {where} (unknown scale)"


def only_warned(item: str) -> str:
    return f"{item} over time (only a provider warning)"


def warned_limitation(word: str, where: str, first: float) -> str:
    return f"{word} limitation {where} (provider warning at {stamp(first)})"


def warning_summary(text: str) -> str:
    return f'provider warning "{text}"'


def reach_sent(what: str) -> str:
    return f"published {what} only"


def reach_received(what: str) -> str:
    return f"received {what} only"


def reach_no_loss() -> str:
    return "no packet loss figures"


def reach_partial(missing: list[str]) -> str:
    return f"no network figures on {join_words(missing)}"


def join_words(words: list[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


# --- one series -------------------------------------------------------------------------------


def _episode(ep: Episode, metric: Metric, normal: float | None, full: bool = False) -> str:
    """`12 % (worst 15 %) for 1 min 40 s from 14:01:40` (`full`: `... to 14:03:20 UTC`)."""
    typical, worst = qty(ep.typical, metric), qty(ep.worst, metric)
    level = typical if typical == worst else f"{typical} (worst {worst})"
    if normal is not None:
        level += f" vs normal {qty(normal, metric)}"
    where = ""
    if ep.kind == EpisodeKind.EDGE:
        where = " at join" if ep.edge == "join" else " just before leaving"
    when = span(ep.start, ep.end) if full else f"from {clock(ep.start)}"
    return f"{level} for {duration(ep.duration_s)}{where} {when}"


def episodes_sentence(
    name: str, where: str, eps: list[Episode], metric: Metric, normal: float | None
) -> str:
    relative = metric in (Metric.FPS, Metric.HEIGHT, Metric.BITRATE)
    if len(eps) == 1:
        verb = "fell to" if relative else "averaged"
        return f"{cap(name)} {where} {verb} {_episode(eps[0], metric, normal, full=True)}."
    parts = [_episode(ep, metric, normal) for ep in eps]
    return f"{cap(name)} {where} was bad {len(eps)} times: {join_words(parts)} UTC."


def spikes_sentence(spikes: list[Episode], metric: Metric) -> str:
    bits = []
    for ep in spikes:
        if ep.kind == EpisodeKind.MILD:
            bits.append(
                f"it sat just over the edge at {qty(ep.typical, metric)} for "
                f"{duration(ep.duration_s)} from {clock(ep.start)} UTC (too little to matter)"
            )
        else:
            bits.append(
                f"a {duration(ep.duration_s)} spike to {qty(ep.worst, metric)} at "
                f"{clock(ep.start)} UTC (too short to matter)"
            )
    return join_words(bits)


def good_sentence(name: str, where: str, p50: str, p90: str, bad_share: float) -> str:
    if bad_share >= 0.5:
        return f"{cap(name)} {where} sat near the edge without doing harm (p50 {p50}, p90 {p90})"
    return f"{cap(name)} {where} stayed good (p50 {p50}, p90 {p90})"


def audio_sent_sentence(media: Media, direction: Direction, p50: str) -> str:
    verb = "published" if direction == Direction.SEND else "received"
    return (
        f"{cap(MEDIA_WORDS[media])} was {verb} throughout (bitrate p50 {p50}; its level is not "
        "graded: speech pauses lower it)."
    )


def held_sentence(name: str, where: str, normal: str, p50: str) -> str:
    return f"{cap(name)} {where} held near its normal {normal} (p50 {p50})"


def steady_low_sentence(name: str, where: str, level: str, edge: str, period: str) -> str:
    return f"{cap(name)} {where} stayed at {level}, below {edge} HD, {period}."


def short_call_note(samples: int) -> str:
    word = "sample" if samples == 1 else "samples"
    return f"The call was short: graded from its {samples} {word}, too few to show persistence."


def summary_fragment(name: str, where: str, eps: list[Episode], metric: Metric) -> str:
    """The headline after "Poor: ": the worst episode's own value and length, and when each
    episode started."""
    worst = max(eps, key=lambda e: (e.level, e.impact))
    edge = ""
    if worst.kind == EpisodeKind.EDGE:
        edge = " at join" if worst.edge == "join" else " before leaving"
    level = f"{name} {where} {qty(worst.typical, metric)} for {duration(worst.duration_s)}{edge}"
    if len(eps) == 1:
        return f"{level} from {stamp(worst.start)}"
    starts = join_words([clock(e.start) for e in eps[:4]] + (["..."] if len(eps) > 4 else []))
    return f"{level}, {len(eps)} times (from {starts} UTC)"


def dated_once(text: str) -> str:
    """Keep the first `YYYY-MM-DD ` of each date in `text` and drop its repeats."""
    seen: set[str] = set()

    def keep_first(m: re.Match[str]) -> str:
        if m.group(1) in seen:
            return ""
        seen.add(m.group(1))
        return m.group(0)

    return re.sub(r"(\d{4}-\d{2}-\d{2}) (?=\d{2}:\d{2})", keep_first, text)


# --- other components ------------------------------------------------------------------------


def limitation_text(word: str, where: str, pct: str, start: float, end: float, total: float):
    return (
        f"{word} limitation {where}: the encoder lowered quality for {pct} of the samples, "
        f"{span(start, end)} ({duration(total)} in total)."
    )


def limitation_summary(word: str, where: str, pct: str, total: float, start: float) -> str:
    return f"{word} limitation {where}, {pct} of the call for {duration(total)} from {stamp(start)}"


def no_limitation(where: str) -> str:
    return f"No sustained CPU or bandwidth limitation {where}."


def freeze_text(where: str, eps: list[Episode], total: float, share: float) -> str:
    """`Video froze on receive (video) 2 times: 8 s from 14:02:30 and 5 s from 14:05:00 UTC
    (13 s in total, 4 % of the track).`"""
    times = "once" if len(eps) == 1 else f"{len(eps)} times"
    each = [f"{duration(e.duration_s)} from {clock(e.start)}" for e in eps[:5]]
    if len(eps) > 5:
        each.append(f"{len(eps) - 5} more")
    return (
        f"Video froze {where} {times}: {join_words(each)} UTC ({duration(total)} in total, "
        f"{share * 100:.0f} % of the track)."
    )


def freeze_summary(where: str, total: float, first: float) -> str:
    return f"video frozen {where} for {duration(total)} from {stamp(first)}"


def average_text(name: str, where: str, shown: str) -> str:
    return (
        f"{cap(name)} {where} averaged {shown} over the call "
        "(provider summary; no samples over time)."
    )


def average_summary(name: str, where: str, shown: str) -> str:
    return f"{name} {where}, call average {shown}"


def relay_text(how: str, over: str, high_rtt: bool) -> str:
    if high_rtt:
        return (
            f"Media went {how}{over}, which adds delay and coincides with the high round-trip time."
        )
    return f"Media went {how}{over}; round-trip time stayed acceptable."


def relay_summary(over: str, high_rtt: bool) -> str:
    return f"media relayed{over}" + (" with high round-trip time" if high_rtt else "")


def warning_text(text: str, first: float, count: int) -> str:
    times = f" ({count} times)" if count > 1 else ""
    return f'Provider warning at {stamp(first)}{times}: "{text}".'


def warning_metric_text(name: str, value: str, first: float, count: int, quote: str) -> str:
    times = f", {count} times" if count > 1 else ""
    return f'{cap(name)} of {value} reported by the provider at {stamp(first)}{times} ("{quote}").'


def warning_metric_summary(name: str, value: str, first: float) -> str:
    return f"{name} {value} (provider warning at {stamp(first)})"


def score_disagrees(name: str, where: str, value: str, clean: list[str]) -> str:
    return (
        f"{cap(name)} {where} was {value} while {join_words(clean)} stayed good: the provider's "
        "score is not borne out by the network figures."
    )


def score_disagrees_summary(name: str, where: str, value: str, clean: list[str]) -> str:
    return f"{name} {where} {value} while {join_words(clean)} stayed good"


def score_not_mos() -> str:
    return " The score is on the provider's own scale, not documented as a MOS: Fair at most."


def caused(cause: str) -> str:
    return f" Likely cause: {cause}."


def because_of(effect: str) -> str:
    """After a root cause in the headline: what it did."""
    return f", which brought {effect}"


def metric_effect(name: str, where: str, value: str | None, up: bool) -> str:
    direction = "up to" if up else "down to"
    return f"{name} {where} {direction} {value}" if value else f"{name} {where} down"


def freeze_effect(where: str, total: float) -> str:
    return f"video freezes {where} ({duration(total)} in total)"


def sender_uplink(name: str, g) -> str:
    """`Ada's uplink: packet loss on send (audio) was 10 % at the same time`."""
    metric = Metric(g.metric)
    worst = max(g.episodes, key=lambda e: (e.level, e.impact), default=None)
    value = qty(worst.typical, metric) if worst else (qty(g.p50, metric) if g.p50 else "bad")
    where = side(g.media, g.direction) if g.media and g.direction else "on send"
    return f"{name}'s uplink: {label(metric)} {where} was {value} at the same time"


def own_downlink(clean: list[str]) -> str:
    who = join_words(clean)
    return f"this participant's downlink ({who}'s uplink stayed clean then)"


def compare_matched(who: str, f, cause: str) -> str:
    name = label(Metric(f.metric))
    return f"{who}'s {name} on receive lines up with {cause}."


def compare_clean(who: str, f, other: str) -> str:
    name = label(Metric(f.metric))
    return f"{who}'s {name} on receive is not {other}'s doing: {other}'s uplink stayed clean then."


def headline_cause(cause: str) -> str:
    return f"; likely {cause}"


def senders_unreachable(why: str) -> str:
    return f"The senders' side could not be checked ({why}), so the cause may be their uplink."


def unavailable(items: list[str]) -> str:
    return f"Not available, so not graded: {join_words(items)}."


# --- headlines --------------------------------------------------------------------------------


def good_headline(names: list[str]) -> str:
    return "Good: no sustained problem in " + join_words(names or ["the call"], "or")


def limited_headline(who: str, reports: str, names: list[str]) -> str:
    what = join_words(names or ["the call"], "or")
    return f"No problem in what {who} reports ({reports}): no sustained problem in {what}"


def unknown_headline(who: str, has_stats: bool) -> str:
    what = "no gradeable quality stats" if has_stats else "no quality stats"
    return f"Unknown: {who} returned {what} for this participant"


def problem_headline(word: str, summary: str) -> str:
    return f"{word}: {summary}"


def not_seen(items: list[str]) -> str:
    return f"; not available: {join_words(items)}"
