"""VideoSDK participant stats -> the normalized Report: one series per media, direction and
metric, the client and network the participant had, and what VideoSDK leaves out."""

from __future__ import annotations

import statistics
from typing import Any

from providers import videosdk_raw as raw
from providers.models import (
    LABELS,
    Client,
    Direction,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
)

NAME = "videosdk"  # the registry key, which every Report and Listing carries as its provider

# What the stats endpoint never carries, whatever the call was like.
ALWAYS_MISSING = (
    "frame rate",
    "encoder limitation reasons",
    "ICE/relay path",
    "network type",
    "events",
    "join/leave times",
)
# Graded metrics named in `missing` when no sample carries them, in this order.
EXPECTED = (Metric.LOSS, Metric.RTT, Metric.JITTER, Metric.BITRATE, Metric.SCORE)
_BROWSERS = frozenset(("chrome", "chromium", "firefox", "safari", "edge", "opera", "brave"))

# Loss: (media, direction, raw loss attribute, raw packet-total attribute).
_LOSS: tuple[tuple[Media, Direction, str, str], ...] = (
    (Media.AUDIO, Direction.RECEIVE, "recv_audio_loss", "recv_audio_packets"),
    (Media.VIDEO, Direction.RECEIVE, "recv_video_loss", "recv_video_packets"),
    (Media.AUDIO, Direction.SEND, "send_audio_loss", "send_audio_packets"),
    (Media.VIDEO, Direction.SEND, "send_video_loss", "send_video_packets"),
)
# (media, direction, metric, raw attribute, scale to our unit); units are argued in `raw.Stat`.
_FIELDS: tuple[tuple[Media, Direction, Metric, str, float], ...] = (
    # RTT is per media, not per direction. It is put on SEND because the sender is the side
    # that measures it (RTCP receiver reports answering its sender reports).
    (Media.AUDIO, Direction.SEND, Metric.RTT, "audio_rtt", 1.0),
    (Media.VIDEO, Direction.SEND, Metric.RTT, "video_rtt", 1.0),
    # Interarrival jitter is computed by the receiver of a stream, so it is this
    # participant's receive side.
    (Media.AUDIO, Direction.RECEIVE, Metric.JITTER, "audio_jitter", 1.0),
    (Media.VIDEO, Direction.RECEIVE, Metric.JITTER, "video_jitter", 1.0),
    (Media.AUDIO, Direction.SEND, Metric.BITRATE, "send_audio_bitrate", 0.001),
    (Media.VIDEO, Direction.SEND, Metric.BITRATE, "send_video_bitrate", 0.001),
    (Media.AUDIO, Direction.RECEIVE, Metric.BITRATE, "recv_audio_bitrate", 0.001),
    (Media.VIDEO, Direction.RECEIVE, Metric.BITRATE, "recv_video_bitrate", 0.001),
)
_BITRATES = {
    (Media.AUDIO, Direction.SEND): "send_audio_bitrate",
    (Media.AUDIO, Direction.RECEIVE): "recv_audio_bitrate",
    (Media.VIDEO, Direction.SEND): "send_video_bitrate",
    (Media.VIDEO, Direction.RECEIVE): "recv_video_bitrate",
}
CUMULATIVE_GROWTH = 2.0  # totals that only rise, to at least twice the first: running counters
PERCENT = "percent"
ASSUMED = "percent, assumed"  # a percentage, as nothing in the response can tell
COUNT = "count"


def _dominant_height(entry: dict[str, Any]) -> float | None:
    """The resolution bucket ("180" ... "2160") with the largest share in one sample."""
    best: tuple[float, float] | None = None
    for key, value in entry.items():
        height, share = raw.as_number(key), raw.as_number(value)
        if height is None or share is None or share <= 0:
            continue
        if best is None or share > best[1] or (share == best[1] and height > best[0]):
            best = (height, share)
    return best[0] if best else None


def _add(
    series: list[Series],
    media: Media,
    direction: Direction,
    metric: Metric,
    times: list[float],
    values: list[float | None],
) -> None:
    # A series with no value at all is left out: `missing` names it instead.
    if any(v is not None for v in values):
        series.append(
            Series(
                media=media, direction=direction, metric=metric, times=list(times), values=values
            )
        )


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1].rstrip("0")) if "." in text and "e" not in text else 0


def _whole_share(lost: float, total: float, receive: bool) -> bool | None:
    """Whether a fractional percentage `lost` is a whole number of packets of `total`
    (received, or sent, packets), allowing for the rounding its decimals show; None when that
    cannot tell (no loss, or rounded too coarsely for the packet count to show)."""
    if lost <= 0 or total <= 0 or lost >= 100 or lost == round(lost):
        return None
    # Received packets exclude the lost ones: lost = p/100 * (total + lost).
    packets = lost * total / (100 - lost) if receive else lost * total / 100
    slope = total * 100 / (100 - lost) ** 2 if receive else total / 100
    slack = 0.5 * 10 ** -_decimals(lost) * slope + 1e-6
    if slack >= 0.25:
        return None
    return round(packets) >= 1 and abs(packets - round(packets)) <= slack


def _cumulative(totals: list[float]) -> bool:
    return (
        len(totals) >= 3
        and totals[0] > 0
        and all(b >= a for a, b in zip(totals, totals[1:], strict=False))
        and totals[-1] >= CUMULATIVE_GROWTH * totals[0]
    )


def loss_unit(
    values: list[float | None], totals: list[float | None], receive: bool
) -> tuple[str | None, str]:
    """Whether one loss series holds percentages (PERCENT, or ASSUMED when nothing can tell)
    or packet counts (COUNT), or None when neither can be right; and why. Decided from the
    values (a count is whole, a percentage is at most 100) and any packet totals beside them
    (a count of lost packets sent is at most the packets sent; a percentage of them is a whole
    number of packets), never from a lone threshold."""
    lost = [v for v in values if v is not None]
    pairs = [(v, t) for v, t in zip(values, totals, strict=True) if v is not None and t is not None]
    fractional = any(abs(v - round(v)) > 1e-9 for v in lost)
    over = max(lost, default=0) > 100
    too_many = not receive and any(v > t for v, t in pairs)  # more lost than were sent
    if fractional and over:
        return None, "its values are fractional, so not counts, and exceed 100, so not a percentage"
    if fractional:
        why = "its values are fractional, so not packet counts"
        shares = [_whole_share(v, t, receive) for v, t in pairs]
        if any(shares) and not any(s is False for s in shares):
            why += ", and each is a whole number of the packets reported beside it"
        elif any(s is False for s in shares):
            why += ", though not all are whole numbers of the packets reported beside them"
        elif not pairs:
            why += " (VideoSDK sent no packet totals beside them)"
        return PERCENT, why
    if too_many and over:
        return None, "more packets lost than were sent, and values over 100"
    if too_many:
        return PERCENT, "more packets would have been lost than were sent, so not packet counts"
    if over:
        return COUNT, f"values up to {max(lost):g} cannot be a percentage"
    if pairs:
        return COUNT, (
            "whole numbers beside packet totals, as counts are (a percentage would need to "
            "have been rounded to whole percent)"
        )
    return ASSUMED, (
        "VideoSDK sent no packet totals to check it against, and whole numbers up to "
        f"{max(lost):g} fit either reading"
    )


def _loss(
    media: Media,
    direction: Direction,
    values: list[float | None],
    totals: list[float | None],
    notes: dict[str, list[str]],
) -> list[float | None] | None:
    """The loss series in percent, or None when it cannot be had; the reading goes to notes."""
    receive = direction == Direction.RECEIVE
    if not any(values):
        return values if any(v is not None for v in values) else None  # 0 reads the same
    unit, why = loss_unit(values, totals, receive)
    where = f"{media} {direction}"
    if unit in (PERCENT, ASSUMED):
        verb = "read as" if unit == PERCENT else "assumed to be"
        notes.setdefault(f"{verb} a percentage: {why}", []).append(where)
        return values
    if unit is None or not any(t is not None for t in totals):
        why = why if unit is None else f"{why}, and there are no packet totals to rate them"
        notes.setdefault(f"left out: {why}", []).append(where)
        return None
    present = [t for t in totals if t is not None]
    running = _cumulative(present)
    out: list[float | None] = []
    last: tuple[float, float] | None = None
    for v, t in zip(values, totals, strict=True):
        if v is None or t is None:
            out.append(None)
            continue
        lost, base = v, t
        if running:
            lost, base = (v - last[0], t - last[1]) if last else (None, None)
            last = (v, t)
        if lost is None or base is None or lost < 0 or base < 0:
            out.append(None)
            continue
        expected = base + lost if receive else base
        out.append(min(100.0, 100.0 * lost / expected) if expected > 0 else None)
    counted = "running packet counts" if running else "packet counts"
    notes.setdefault(
        f"read as {counted} and turned into a percentage of the packets reported beside them: "
        f"{why}",
        [],
    ).append(where)
    return out


def _flows(samples: list[raw.Stat], media: Media, direction: Direction) -> bool | None:
    """True when this side carried media (a bitrate above 0), False when every reported
    bitrate is 0, None when VideoSDK did not say."""
    rates = [getattr(s, _BITRATES[(media, direction)]) for s in samples]
    rates = [r for r in rates if r is not None]
    if not rates:
        return None
    return any(r > 0 for r in rates)


def _side(samples: list[raw.Stat], media: Media) -> tuple[Direction | None, str]:
    """The one side a per-media figure can belong to, and why; None when the data does not
    tell (media flowed both ways, or the bitrates are missing)."""
    send = _flows(samples, media, Direction.SEND)
    recv = _flows(samples, media, Direction.RECEIVE)
    if send and recv is False:
        return Direction.SEND, f"only sent {media} flowed (received {media} bitrate was 0)"
    if recv and send is False:
        return Direction.RECEIVE, f"only received {media} flowed (sent {media} bitrate was 0)"
    if send and recv:
        return None, f"{media} flowed both ways"
    return None, f"the {media} bitrates do not show which way {media} flowed"


def _series(
    stats: raw.ParticipantStats, samples: list[raw.Stat], times: list[float], notes: list[str]
) -> tuple[list[Series], set[Metric]]:
    """The series, and the metrics VideoSDK sent but no side could be given to."""
    series: list[Series] = []
    unplaced: set[Metric] = set()
    loss_notes: dict[str, list[str]] = {}
    for media, direction, attr, total in _LOSS:
        values = [getattr(s, attr) for s in samples]
        totals = [getattr(s, total) for s in samples]
        loss = _loss(media, direction, values, totals, loss_notes)
        if loss is not None:
            _add(series, media, direction, Metric.LOSS, times, loss)
    for why, where in loss_notes.items():
        notes.append(f"Packet loss ({', '.join(where)}) {why}.")
    for media, direction, metric, attr, scale in _FIELDS:
        values = [getattr(s, attr) for s in samples]
        _add(series, media, direction, metric, times, [v * scale if v else v for v in values])

    # qualityScore {audio, video} is one figure per media. VideoSDK does not say whether it
    # rates what the participant sent or received, so it is put on a side only when the media
    # flowed one way; otherwise it is named in a note and left ungraded. Its 1-5 scale looks
    # MOS-like but is VideoSDK's own, hence SCORE.
    ungraded: dict[str, list[str]] = {}
    for media, attr in ((Media.AUDIO, "audio"), (Media.VIDEO, "video")):
        values = [getattr(s.quality, attr) if s.quality else None for s in samples]
        got = [v for v in values if v is not None]
        if not got:
            continue
        direction, why = _side(samples, media)
        if direction is not None:
            _add(series, media, direction, Metric.SCORE, times, values)
            notes.append(
                f"VideoSDK's {media} quality score is put on {direction}: {why}; the API does "
                "not say which side it rates."
            )
        else:
            unplaced.add(Metric.SCORE)
            figures = f"{media}: median {statistics.median(got):.2f}, lowest {min(got):.2f}"
            ungraded.setdefault(why.replace(str(media), "{media}"), []).append(figures)
    for why, figures in ungraded.items():
        media = " and ".join(f.split(":")[0] for f in figures)
        scores = "scores are" if len(figures) > 1 else "score is"
        notes.append(
            f"VideoSDK's quality {scores} not graded ({'; '.join(figures)}): the API does not "
            f"say whether {'they rate' if len(figures) > 1 else 'it rates'} what this "
            "participant sent or received, and "
            f"{why.format(media=media)}."
        )

    # resolutionUsage: the share of video at each resolution bucket per sample; the series
    # holds the dominant bucket (an upper bound: a 270p stream counts in the 360 bucket). The
    # API does not say whether it is the video sent or received, so the side follows the data
    # as for the quality score.
    usage = [
        (at, u)
        for u in stats.resolution_usage or []
        if (at := raw.when(raw.as_text(u.get("time"))))
    ]
    usage.sort(key=lambda pair: pair[0])
    heights = [_dominant_height(u) for _, u in usage]
    if any(h is not None for h in heights):
        usage_times = [at.timestamp() for at, _ in usage]
        direction, why = _side(samples, Media.VIDEO)
        if direction is not None:
            _add(series, Media.VIDEO, direction, Metric.HEIGHT, usage_times, heights)
            notes.append(
                f"VideoSDK's resolution usage is put on {direction}: {why}; the API does not say "
                "whether it is the video sent or received."
            )
        else:
            unplaced.add(Metric.HEIGHT)
            common = statistics.mode(h for h in heights if h is not None)
            notes.append(
                f"VideoSDK's resolution usage (mostly {common:.0f}p) is not graded: the API does "
                f"not say whether it is the video this participant sent or received, and {why}."
            )
    return series, unplaced


def _missing(has_samples: bool, series: list[Series], unplaced: set[Metric]) -> list[str]:
    """What VideoSDK did not send. A figure it sent without a side is in the notes instead."""
    missing: list[str] = []
    present = {s.metric for s in series} | unplaced
    if not has_samples:
        missing.append("stats (VideoSDK returned no samples for this participant)")
    else:
        missing.extend(LABELS[metric] for metric in EXPECTED if metric not in present)
    if Metric.HEIGHT not in present:
        missing.append(LABELS[Metric.HEIGHT])
    missing.extend(ALWAYS_MISSING)
    return missing


def _client(stats: raw.ParticipantStats) -> Client:
    # deviceInfo names the browser on web clients ("Chrome" / "102.0.0.0"), a device elsewhere.
    device = stats.device or raw.Device()
    is_browser = device.name is not None and device.name.lower() in _BROWSERS
    sdk = stats.sdk or raw.Sdk()
    named = " ".join(filter(None, (device.name, device.version))) or None
    return Client(
        browser=device.name if is_browser else None,
        browser_version=device.version if is_browser else None,
        device=None if is_browser else named,
        sdk_name=sdk.name,
        sdk_version=sdk.version,
    )


def _network(stats: raw.ParticipantStats) -> Network:
    location = stats.location or raw.Location()
    net = stats.network or raw.Net()
    return Network(
        asn=net.asn,
        org=net.org,
        city=location.city,
        region=location.region,
        country=location.country,
    )


def normalize(stats: raw.ParticipantStats, session_id: str, participant_id: str) -> Report:
    """Translate VideoSDK's participant stats into the shared Report."""
    notes: list[str] = []
    samples = [(at, s) for s in stats.stats or [] if (at := raw.when(s.time)) is not None]
    samples.sort(key=lambda pair: pair[0])
    times = [at.timestamp() for at, _ in samples]
    series, unplaced = _series(stats, [s for _, s in samples], times, notes)
    ids = {"session": session_id, "participant": participant_id}
    if stats.meeting_id:
        ids["room"] = stats.meeting_id
    return Report(
        provider=NAME,
        ids=ids,
        participant=Participant(
            id=stats.participant_id or participant_id,
            display_name=stats.participant_name,
            session_id=stats.session_id or session_id,
        ),
        client=_client(stats),
        network=_network(stats),
        series=series,
        missing=_missing(bool(samples), series, unplaced),
        notes=notes,
        window_start=samples[0][0] if samples else None,
        window_end=samples[-1][0] if samples else None,
    )
