"""VideoSDK participant stats -> the normalized Report: one series per media, direction and
metric, the client and network the participant had, and what VideoSDK leaves out."""

from __future__ import annotations

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

# (media, direction, metric, raw attribute, scale to our unit); units are argued in `raw.Stat`.
_FIELDS: tuple[tuple[Media, Direction, Metric, str, float], ...] = (
    (Media.AUDIO, Direction.RECEIVE, Metric.LOSS, "recv_audio_loss", 1.0),
    (Media.VIDEO, Direction.RECEIVE, Metric.LOSS, "recv_video_loss", 1.0),
    (Media.AUDIO, Direction.SEND, Metric.LOSS, "send_audio_loss", 1.0),
    (Media.VIDEO, Direction.SEND, Metric.LOSS, "send_video_loss", 1.0),
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


def _series(
    stats: raw.ParticipantStats, samples: list[raw.Stat], times: list[float], notes: list[str]
) -> list[Series]:
    series: list[Series] = []
    for media, direction, metric, attr, scale in _FIELDS:
        values = [getattr(s, attr) for s in samples]
        if metric == Metric.LOSS and any(v is not None and v > 100 for v in values):
            notes.append(
                f"VideoSDK reported {media} {direction} packet loss as packet counts, "
                "which cannot be turned into a rate; it is left out."
            )
            continue
        _add(series, media, direction, metric, times, [v * scale if v else v for v in values])

    # qualityScore grades the participant's experience of the call (what they heard and saw),
    # so it sits on RECEIVE. Its 1-5 scale looks MOS-like but is VideoSDK's own, hence SCORE.
    for media, attr in ((Media.AUDIO, "audio"), (Media.VIDEO, "video")):
        values = [getattr(s.quality, attr) if s.quality else None for s in samples]
        _add(series, media, Direction.RECEIVE, Metric.SCORE, times, values)

    # resolutionUsage is taken as the share of received video at each resolution bucket; the
    # series holds the dominant bucket per sample, i.e. the height most of the received video
    # had (an upper bound: a 270p stream counts in the 360 bucket).
    usage = [
        (at, u)
        for u in stats.resolution_usage or []
        if (at := raw.when(raw.as_text(u.get("time"))))
    ]
    usage.sort(key=lambda pair: pair[0])
    heights = [_dominant_height(u) for _, u in usage]
    usage_times = [at.timestamp() for at, _ in usage]
    _add(series, Media.VIDEO, Direction.RECEIVE, Metric.HEIGHT, usage_times, heights)
    return series


def _missing(has_samples: bool, series: list[Series]) -> list[str]:
    missing: list[str] = []
    if not has_samples:
        missing.append("stats (VideoSDK returned no samples for this participant)")
    else:
        present = {s.metric for s in series}
        missing.extend(LABELS[metric] for metric in EXPECTED if metric not in present)
    if not any(s.metric == Metric.HEIGHT for s in series):
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
    series = _series(stats, [s for _, s in samples], times, notes)
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
        missing=_missing(bool(samples), series),
        notes=notes,
        window_start=samples[0][0] if samples else None,
        window_end=samples[-1][0] if samples else None,
    )
