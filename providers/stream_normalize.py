"""Stream Video raw models (every field optional, extra fields ignored) and their translation
into the normalized Report."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from providers.models import (
    Client,
    Direction,
    Event,
    EventKind,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
)
from providers.stream_windows import Point, Window, merge_points, to_datetime, to_unix

# What GetCallParticipantSessionMetrics never carries; the verdict says so rather than
# counting it as good.
MISSING = ["packet loss", "jitter", "round-trip time", "what this participant received"]

_TRACK_MEDIA = {
    "audio": Media.AUDIO,
    "video": Media.VIDEO,
    "screensharing": Media.SCREEN_VIDEO,
    "screenshare": Media.SCREEN_VIDEO,
    "screen_share": Media.SCREEN_VIDEO,
    "screensharing_audio": Media.SCREEN_AUDIO,
    "screenshare_audio": Media.SCREEN_AUDIO,
    "screen_share_audio": Media.SCREEN_AUDIO,
}
# Median bitrate above which a series is in bit/s rather than kbps: no audio track runs at
# 1 Mbit/s and no camera or screen share at 25 Mbit/s.
_BITS_ABOVE = {Media.AUDIO: 1_000.0, Media.SCREEN_AUDIO: 1_000.0}
_BITS_ABOVE_VIDEO = 25_000.0
_BROWSERS = ("chrome", "firefox", "safari", "edge", "opera")


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimeSeries(_Raw):
    data_points: list[Any] | None = None

    def points(self) -> list[Point]:
        out: list[Point] = []
        for item in self.data_points or []:
            if not isinstance(item, list | tuple) or len(item) < 2:
                continue
            t = to_unix(item[0])
            if t is None:
                continue
            v = item[1]
            out.append(
                (t, float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None)
            )
        return out


class Resolution(_Raw):
    width: TimeSeries | None = None
    height: TimeSeries | None = None


class Warning_(_Raw):
    time: Any = None
    code: Any = None
    warning: str | None = None


class Track(_Raw):
    track_id: str | None = None
    track_type: str | None = None
    codec: str | None = None
    bitrate: TimeSeries | None = None
    framerate: TimeSeries | None = None
    resolution: Resolution | None = None
    warnings: list[Warning_] | None = None

    @property
    def media(self) -> Media | None:
        key = (self.track_type or "").lower().removeprefix("track_type_").replace("-", "_")
        return _TRACK_MEDIA.get(key)

    def series(self) -> dict[Metric, TimeSeries | None]:
        res = self.resolution or Resolution()
        return {
            Metric.BITRATE: self.bitrate,
            Metric.FPS: self.framerate,
            Metric.WIDTH: res.width,
            Metric.HEIGHT: res.height,
        }


class Location(_Raw):
    city: str | None = None
    subdivision: str | None = None
    country: str | None = None
    country_iso_code: str | None = None
    continent: str | None = None


class SessionClient(_Raw):
    name: str | None = None
    version: str | None = None
    ip: str | None = None
    network_type: str | None = None
    location: Location | None = None


class Metrics(_Raw):
    """GetCallParticipantSessionMetricsResponse."""

    user_id: str | None = None
    user_session_id: str | None = None
    publisher_type: str | None = None
    joined_at: Any = None
    is_publisher: bool | None = None
    is_subscriber: bool | None = None
    client: SessionClient | None = None
    published_tracks: list[Track] | None = None

    @property
    def joined(self) -> datetime | None:
        return to_datetime(self.joined_at)

    def latest_point(self) -> float | None:
        times = [
            t
            for track in self.published_tracks or []
            for ts in track.series().values()
            if ts is not None
            for t, _v in ts.points()
        ]
        return max(times) if times else None


class AttendanceRow(_Raw):
    """ParticipantSessionDetails (one join/leave of one user)."""

    user_id: str | None = None
    user_session_id: str | None = None
    publisher_type: str | None = None
    roles: list[str] | None = None
    joined_at: Any = None
    left_at: Any = None
    duration_in_seconds: float | None = None

    @property
    def joined(self) -> datetime | None:
        return to_datetime(self.joined_at)

    @property
    def left(self) -> datetime | None:
        return to_datetime(self.left_at)

    @property
    def duration_s(self) -> float | None:
        if self.duration_in_seconds is not None:
            return float(self.duration_in_seconds)
        if self.joined and self.left:
            return (self.left - self.joined).total_seconds()
        return None


def _client(raw: SessionClient) -> Client:
    if raw.name and raw.name.lower() in _BROWSERS:
        return Client(browser=raw.name, browser_version=raw.version)
    return Client(sdk_name=raw.name, sdk_version=raw.version)


def _network(raw: SessionClient) -> Network:
    loc = raw.location or Location()
    return Network(
        ip=raw.ip,  # kept for the raw export only
        network_type=raw.network_type,
        city=loc.city,
        region=loc.subdivision,
        country=loc.country_iso_code or loc.country,
    )


def _in_kbps(media: Media, values: list[float | None]) -> list[float | None]:
    got = [v for v in values if v is not None]
    if not got:
        return values
    if statistics.median(got) <= _BITS_ABOVE.get(media, _BITS_ABOVE_VIDEO):
        return values
    return [None if v is None else v / 1000.0 for v in values]


def _warning(media: Media, w: Warning_, fallback: datetime) -> Event:
    # A warning is a moment, not a per-sample limitation reason: it stays an event, so a
    # single warning is not read as "limited for the whole call".
    when = to_datetime(w.time) or fallback
    text = w.warning or (str(w.code) if w.code is not None else "warning")
    return Event(
        time=when,
        kind=EventKind.WARNING,
        text=f"{media.value.replace('_', ' ')}: {text}",
        media=media,
        direction=Direction.SEND,  # Stream's warnings belong to a published track
    )


def normalize(
    chunks: list[tuple[Window, Metrics]],
    *,
    ids: dict[str, str],
    window: Window,
    row: AttendanceRow | None = None,
    notes: list[str] | None = None,
) -> Report:
    """Merge the answers for adjacent windows into one Report (all tracks are SEND)."""
    points: dict[tuple[Media, Metric], list[tuple[Window, list[Point]]]] = defaultdict(list)
    track_ids: dict[Media, str | None] = {}
    events: dict[tuple, Event] = {}
    first = next((m for _w, m in chunks), Metrics())
    raw_client = next((m.client for _w, m in chunks if m.client), None) or SessionClient()
    joined = (row.joined if row else None) or next((m.joined for _w, m in chunks if m.joined), None)
    for win, metrics in chunks:
        for track in metrics.published_tracks or []:
            media = track.media
            if media is None:
                continue
            track_ids.setdefault(media, track.track_id)
            for metric, ts in track.series().items():
                if ts is not None:
                    points[(media, metric)].append((win, ts.points()))
            for w in track.warnings or []:
                event = _warning(media, w, window[0])
                events.setdefault((event.time, event.text), event)

    series: list[Series] = []
    for (media, metric), parts in points.items():
        merged = merge_points(parts)
        if not merged:
            continue
        values = [v for _t, v in merged]
        if metric == Metric.BITRATE:
            values = _in_kbps(media, values)
        series.append(
            Series(
                media=media,
                direction=Direction.SEND,
                metric=metric,
                times=[t for t, _v in merged],
                values=values,
                track_id=track_ids.get(media),
            )
        )
    series.sort(key=lambda s: (list(Media).index(s.media), list(Metric).index(s.metric)))

    left = row.left if row else None
    timeline = sorted(events.values(), key=lambda e: e.time)
    if joined:
        timeline.insert(0, Event(time=joined, kind=EventKind.JOIN, text="Joined the session"))
    if left:
        timeline.append(Event(time=left, kind=EventKind.LEAVE, text="Left the session"))
    out_notes = list(notes or [])
    out_notes.append(
        "Stream reports only what this participant published: bitrate, frame rate, "
        "resolution and warnings."
    )
    if not any(s.points() for s in series):
        out_notes.append("Stream returned no published-track statistics for this window.")
    return Report(
        provider="stream",
        ids={**ids, "call_cid": f"{ids['call_type']}:{ids['call_id']}"},
        participant=Participant(
            id=ids.get("user_session_id"),
            user_id=ids.get("user_id") or first.user_id,
            session_id=ids.get("user_session_id") or first.user_session_id,
            role=", ".join(row.roles) if row and row.roles else None,
            joined_at=joined,
            left_at=left,
            duration_s=row.duration_s if row else None,
        ),
        client=_client(raw_client),
        network=_network(raw_client),
        series=series,
        events=timeline,
        missing=list(MISSING),
        window_start=window[0],
        window_end=window[1],
        notes=out_notes,
    )
