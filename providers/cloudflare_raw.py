"""Cloudflare RealtimeKit response bodies as the API sends them (private to the provider).

Field names follow the official SDK types (`cloudflare.types.realtime_kit`). Every field is
optional, unknown fields are ignored and list items may be null: the API documents no required
fields, and older (Dyte-era) shapes still appear. Timestamps stay strings here because the
documented examples carry placeholders such as `"timestamp"`; the provider parses them leniently.
The producer and consumer sample lists are the exception: they stay decoded JSON (`Samples`),
because an hour sampled every second is tens of thousands of objects, and
`providers.cloudflare_series` reads them column by column, tolerating the same missing, null
and odd fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Device(_Raw):
    device_id: str | None = None
    kind: str | None = None  # audioinput | videoinput | audiooutput
    label: str | None = None


class DeviceUpdate(_Raw):
    added: list[Device | None] | None = None
    removed: list[Device | None] | None = None
    timestamp: str | None = None


class SelectedDeviceUpdate(_Raw):
    device: Device | None = None
    timestamp: str | None = None


class BrowserMetadata(_Raw):
    browser: str | None = None
    browser_version: str | None = None
    engine: str | None = None
    user_agent: str | None = None


class CandidatePair(_Raw):
    available_incoming_bitrate: float | None = None  # bits/s (WebRTC availableIncomingBitrate)
    available_outgoing_bitrate: float | None = None
    current_round_trip_time: float | None = None
    local_candidate_network_type: str | None = None
    local_candidate_protocol: str | None = None
    local_candidate_type: str | None = None
    local_candidate_url: str | None = None
    nominated: bool | None = None
    remote_candidate_protocol: str | None = None
    remote_candidate_type: str | None = None


class CandidatePairs(_Raw):
    producing_transport: list[CandidatePair | None] | None = None
    consuming_transport: list[CandidatePair | None] | None = None


class DeviceInfo(_Raw):
    cpus: float | None = None
    is_mobile: bool | None = None
    os: str | None = None
    os_version: str | None = None
    # Only in the legacy `peer_stats.device_info` of the participant-details endpoint.
    browser: str | None = None
    browser_version: str | None = None
    sdk_name: str | None = None
    sdk_version: str | None = None
    user_agent: str | None = None


class MetaEvent(_Raw):
    name: str | None = None
    timestamp: str | None = None
    metadata: dict[str, Any] | None = None


class Asn(_Raw):
    asn: str | int | None = None
    name: str | None = None


class IpInformation(_Raw):
    asn: Asn | None = None
    city: str | None = None
    country: str | None = None
    ipv4: str | None = None
    org: str | None = None
    region: str | None = None
    timezone: str | None = None


class PcMetadata(_Raw):
    effective_network_type: str | None = None
    turn_connectivity: bool | None = None
    relay_connectivity: bool | None = None
    timestamp: str | None = None


class Metadata(_Raw):
    audio_devices_updates: list[DeviceUpdate | None] | None = None
    video_devices_updates: list[DeviceUpdate | None] | None = None
    speaker_devices_updates: list[DeviceUpdate | None] | None = None
    selected_device_updates: list[SelectedDeviceUpdate | None] | None = None
    browser_metadata: BrowserMetadata | None = None
    candidate_pairs: CandidatePairs | None = None
    device_info: DeviceInfo | None = None
    events: list[MetaEvent | None] | None = None
    ip_information: IpInformation | None = None
    pc_metadata: list[PcMetadata | None] | None = None
    sdk_name: str | None = None
    sdk_type: str | None = None
    sdk_version: str | None = None


# One JSON object per track per sample (producer = outbound, consumer = inbound; counters are
# cumulative), left undecoded into models: see the module docstring and `cloudflare_series`.
Samples = list[Any] | None


class Dist(_Raw):
    avg: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None


class Fractions(_Raw):
    """`packet_loss` (percent buckets) and latency (`rtt`, `jitter_buffer_delay`, ms buckets)."""

    avg: float | None = None
    pct5: float | None = Field(None, alias="5_or_greater_event_fraction")
    pct10: float | None = Field(None, alias="10_or_greater_event_fraction")
    pct25: float | None = Field(None, alias="25_or_greater_event_fraction")
    pct50: float | None = Field(None, alias="50_or_greater_event_fraction")
    ms100: float | None = Field(None, alias="100ms_or_greater_event_fraction")
    ms250: float | None = Field(None, alias="250ms_or_greater_event_fraction")
    ms500: float | None = Field(None, alias="500ms_or_greater_event_fraction")


class Issues(_Raw):
    bandwidth_quality_limitation_fraction: float | None = None
    cpu_quality_limitation_fraction: float | None = None
    quality_limitation_fraction: float | None = None
    no_video_fraction: float | None = None
    poor_resolution_fraction: float | None = None
    lag_fraction: float | None = None


class Cumulative(_Raw):
    quality_mos: Dist | None = None
    packet_loss: Fractions | None = None
    rtt: Fractions | None = None
    jitter_buffer_delay: Fractions | None = None
    frame_per_second: Dist | None = None
    frame_width: Dist | None = None
    issues: Issues | None = None
    key_frames_encoded_fraction: float | None = None
    key_frames_decoded_fraction: float | None = None
    high_negative_feedback_fraction: float | None = None

    def neutral(self) -> dict[str, float]:
        """The figures under the provider-neutral keys of `providers.models.Summary`."""
        out: dict[str, float] = {}
        for group, keys in SUMMARY_KEYS.items():
            part = self if group == "_self" else getattr(self, group)
            for attr, key in keys if part is not None else ():
                if (value := getattr(part, attr)) is not None:
                    out[key] = value
        return out


# Cumulative group -> (raw field, neutral Summary key). `packet_loss.avg` is taken as percent
# because its buckets are (5, 10, 25, 50 % or greater); latency buckets are in ms.
SUMMARY_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "quality_mos": (("avg", "mos_avg"), ("p50", "mos_p50"), ("p75", "mos_p75"), ("p90", "mos_p90")),
    "packet_loss": (
        ("avg", "loss_avg_pct"),
        ("pct5", "loss_5pct_fraction"),
        ("pct10", "loss_10pct_fraction"),
        ("pct25", "loss_25pct_fraction"),
        ("pct50", "loss_50pct_fraction"),
    ),
    "rtt": (
        ("avg", "rtt_avg_ms"),
        ("ms100", "rtt_100ms_fraction"),
        ("ms250", "rtt_250ms_fraction"),
        ("ms500", "rtt_500ms_fraction"),
    ),
    "jitter_buffer_delay": (
        ("avg", "jitter_buffer_avg_ms"),
        ("ms100", "jitter_buffer_100ms_fraction"),
        ("ms250", "jitter_buffer_250ms_fraction"),
        ("ms500", "jitter_buffer_500ms_fraction"),
    ),
    "frame_per_second": (("avg", "fps_avg"), ("p50", "fps_p50"), ("p90", "fps_p90")),
    "frame_width": (("avg", "width_avg"), ("p50", "width_p50"), ("p90", "width_p90")),
    "issues": (
        ("cpu_quality_limitation_fraction", "cpu_limited_fraction"),
        ("bandwidth_quality_limitation_fraction", "bandwidth_limited_fraction"),
        ("quality_limitation_fraction", "limited_fraction"),
        ("no_video_fraction", "no_video_fraction"),
        ("poor_resolution_fraction", "poor_resolution_fraction"),
        ("lag_fraction", "lag_fraction"),
    ),
    "_self": (
        ("key_frames_encoded_fraction", "key_frames_encoded_fraction"),
        ("key_frames_decoded_fraction", "key_frames_decoded_fraction"),
        ("high_negative_feedback_fraction", "high_negative_feedback_fraction"),
    ),
}


class Quality(_Raw):
    audio_producer: Samples = None
    audio_consumer: Samples = None
    video_producer: Samples = None
    video_consumer: Samples = None
    screenshare_audio_producer: Samples = None
    screenshare_audio_consumer: Samples = None
    screenshare_video_producer: Samples = None
    screenshare_video_consumer: Samples = None
    audio_producer_cumulative: Cumulative | None = None
    audio_consumer_cumulative: Cumulative | None = None
    video_producer_cumulative: Cumulative | None = None
    video_consumer_cumulative: Cumulative | None = None
    screenshare_audio_producer_cumulative: Cumulative | None = None
    screenshare_audio_consumer_cumulative: Cumulative | None = None
    screenshare_video_producer_cumulative: Cumulative | None = None
    screenshare_video_consumer_cumulative: Cumulative | None = None


class PeerReport(_Raw):
    metadata: Metadata | None = None
    quality: Quality | None = None


class PeerEvent(_Raw):
    event_name: str | None = None  # PEER_CREATED | PEER_JOINING | PEER_LEAVING
    created_at: str | None = None
    peer_id: str | None = None


class PeerStats(_Raw):
    """Legacy `peer_stats` of the participant-details endpoint (Dyte era)."""

    device_info: DeviceInfo | None = None
    ip_information: IpInformation | None = None


class Participant(_Raw):
    id: str | None = None
    display_name: str | None = None
    user_id: str | None = None
    custom_participant_id: str | None = None
    session_id: str | None = None
    role: str | None = None  # the preset name, in the peer report
    preset_name: str | None = None  # the same, in the participant endpoints
    joined_at: str | None = None
    left_at: str | None = None
    created_at: str | None = None
    duration: float | None = None  # minutes
    peer_events: list[PeerEvent | None] | None = None
    peer_report: PeerReport | None = None
    peer_stats: PeerStats | None = None


class Paging(_Raw):
    total_count: int | None = None
    start_offset: int | None = None
    end_offset: int | None = None


class Data(_Raw):
    participant: Participant | None = None
    participants: list[Participant | None] | None = None
    paging: Paging | None = None


class Envelope(_Raw):
    success: bool | None = None
    data: Data | None = None
    paging: Paging | None = None  # the sessions list puts paging at the top level
