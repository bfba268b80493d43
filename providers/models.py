"""The normalized report every provider returns.

Providers parse their vendor JSON into private raw models and translate it into these types;
nothing provider-shaped travels further. Time series are stored column-wise (one list of
timestamps, one list of values) so an hour sampled every second stays cheap to build, grade and
draw. Every field is optional: what a provider did not supply is `None` or an empty list, and
is named in `Report.missing` so the verdict can say so instead of guessing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Media(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN_AUDIO = "screenshare_audio"
    SCREEN_VIDEO = "screenshare_video"
    CONNECTION = "connection"  # transport-level figures (ICE candidate pair, RTT of the path)


class Direction(StrEnum):
    SEND = "send"  # what this participant published (producer, outbound)
    RECEIVE = "receive"  # what this participant received from others (consumer, inbound)


class Metric(StrEnum):
    LOSS = "loss_pct"  # packets lost / packets expected in the interval, percent
    JITTER = "jitter_ms"
    RTT = "rtt_ms"
    BITRATE = "bitrate_kbps"
    FPS = "fps"
    WIDTH = "width_px"
    HEIGHT = "height_px"
    MOS = "mos"  # 1-5; from the provider, or estimated with the E-model (Series.estimated)
    SCORE = "quality_score"  # the provider's own quality score when it is not a MOS
    JITTER_BUFFER = "jitter_buffer_ms"


UNITS: dict[Metric, str] = {
    Metric.LOSS: "%",
    Metric.JITTER: "ms",
    Metric.RTT: "ms",
    Metric.BITRATE: "kbps",
    Metric.FPS: "fps",
    Metric.WIDTH: "px",
    Metric.HEIGHT: "px",
    Metric.MOS: "MOS",
    Metric.SCORE: "score",
    Metric.JITTER_BUFFER: "ms",
}

LABELS: dict[Metric, str] = {
    Metric.LOSS: "packet loss",
    Metric.JITTER: "jitter",
    Metric.RTT: "round-trip time",
    Metric.BITRATE: "bitrate",
    Metric.FPS: "frame rate",
    Metric.WIDTH: "frame width",
    Metric.HEIGHT: "resolution",
    Metric.MOS: "MOS",
    Metric.SCORE: "quality score",
    Metric.JITTER_BUFFER: "jitter buffer delay",
}


class Series(BaseModel):
    """One metric of one track in one direction over time.

    `times` are Unix seconds (float), ascending; `values` has the same length and holds
    `None` where a sample lacked the field.
    """

    media: Media
    direction: Direction
    metric: Metric
    times: list[float] = Field(default_factory=list)
    values: list[float | None] = Field(default_factory=list)
    estimated: bool = False  # True when derived by us (e.g. E-model MOS), not sent by the provider
    track_id: str | None = None

    @property
    def unit(self) -> str:
        return UNITS[self.metric]

    @property
    def label(self) -> str:
        return LABELS[self.metric]

    def points(self) -> list[tuple[float, float]]:
        """The samples that carry a value."""
        return [(t, v) for t, v in zip(self.times, self.values, strict=False) if v is not None]


class Participant(BaseModel):
    id: str | None = None
    display_name: str | None = None
    user_id: str | None = None
    custom_id: str | None = None
    session_id: str | None = None
    role: str | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    duration_s: float | None = None


class Client(BaseModel):
    device: str | None = None  # e.g. "MacBook" / "iPhone" / "Chrome on Windows"
    os: str | None = None
    os_version: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    sdk_name: str | None = None
    sdk_version: str | None = None
    is_mobile: bool | None = None
    cpus: float | None = None
    user_agent: str | None = None


class Network(BaseModel):
    """Where the participant connected from and how media flowed.

    `ip` is read as an attribute only: it is left out of every dump (the `raw` export, JSON
    output), and renderers must not post it to a channel.
    """

    ip: str | None = Field(default=None, exclude=True)
    network_type: str | None = None  # wifi, cellular, ethernet, 4g ...
    asn: str | None = None
    org: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    relayed: bool | None = None  # media went through a TURN relay
    transport: str | None = None  # "udp" | "tcp" | "tls" for the selected ICE candidate pair
    local_candidate_type: str | None = None  # host | srflx | prflx | relay
    remote_candidate_type: str | None = None
    turn_connectivity: bool | None = None

    def path_text(self) -> str | None:
        """How media travelled when that is worth saying: "relayed via TURN/TCP", "over TCP"."""
        transport = (self.transport or "").upper()
        if self.relayed:
            return "relayed via TURN" + (f"/{transport}" if transport else "")
        if transport in ("TCP", "TLS"):
            return f"over {transport}"
        return None

    available_outgoing_kbps: float | None = None
    available_incoming_kbps: float | None = None


class EventKind(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    DEVICE_CHANGE = "device_change"
    RECONNECT = "reconnect"
    WARNING = "warning"
    OTHER = "other"


class Event(BaseModel):
    time: datetime
    kind: EventKind
    text: str
    media: Media | None = None  # the track a warning is about, when the provider says
    direction: Direction | None = None


class Summary(BaseModel):
    """The provider's own cumulative figures for one track and direction.

    `values` keys are provider-neutral where possible: `mos_avg`, `mos_p50`, `mos_p90`,
    `loss_avg_pct`, `loss_5pct_fraction`, `rtt_avg_ms`, `rtt_250ms_fraction`,
    `cpu_limited_fraction`, `bandwidth_limited_fraction`, `no_video_fraction`, ...
    """

    media: Media
    direction: Direction
    values: dict[str, float] = Field(default_factory=dict)


class Limitation(BaseModel):
    """Why an encoder lowered quality (WebRTC qualityLimitationReason) at a sample time."""

    media: Media
    direction: Direction = Direction.SEND
    time: float  # Unix seconds
    reason: str  # cpu | bandwidth | other | none


class Report(BaseModel):
    provider: str
    ids: dict[str, str] = Field(default_factory=dict)
    participant: Participant = Field(default_factory=Participant)
    client: Client = Field(default_factory=Client)
    network: Network = Field(default_factory=Network)
    series: list[Series] = Field(default_factory=list)
    summaries: list[Summary] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    limitations: list[Limitation] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # what the provider did not supply, in words
    # The participants whose media this one received, as ids the provider's lookup takes,
    # when the provider names them (Cloudflare's receive rows carry the remote peer id).
    senders: list[str] = Field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def participant_name(self) -> str:
        """The participant as a person reads it: display name, else a user id, else an id."""
        p = self.participant
        name = p.display_name or p.user_id or p.custom_id or p.id
        if not name and self.ids:
            name = next(iter(self.ids.values()))
        return str(name or "unknown participant")

    def get(self, media: Media, direction: Direction, metric: Metric) -> Series | None:
        for s in self.series:
            if s.media == media and s.direction == direction and s.metric == metric:
                return s
        return None

    def find(
        self,
        *,
        media: Media | None = None,
        direction: Direction | None = None,
        metric: Metric | None = None,
    ) -> list[Series]:
        return [
            s
            for s in self.series
            if (media is None or s.media == media)
            and (direction is None or s.direction == direction)
            and (metric is None or s.metric == metric)
        ]

    @property
    def has_stats(self) -> bool:
        return any(s.points() for s in self.series)

    def time_range(self) -> tuple[float, float] | None:
        times = [t for s in self.series for t in (s.times[:1] + s.times[-1:])]
        if not times:
            return None
        return min(times), max(times)


class ListingRow(BaseModel):
    id: str
    name: str | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    duration_s: float | None = None
    command: str | None = None  # the exact command that looks this row up
    # The provider's own summary of this participant, when its listing carries one: graded
    # without a full lookup. Left out of dumps (the full report is one command away).
    summary: Report | None = Field(default=None, exclude=True)


class Listing(BaseModel):
    """A list of participants or sessions to choose from (a session listing, or an ambiguous
    short-form lookup answered with its candidates)."""

    provider: str
    title: str
    ids: dict[str, str] = Field(default_factory=dict)
    rows: list[ListingRow] = Field(default_factory=list)
    total: int | None = None
    notes: list[str] = Field(default_factory=list)
