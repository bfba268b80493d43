"""VideoSDK v2 REST bodies as sent: participant stats and the paginated participant list.

VideoSDK publishes no schema for these bodies, only examples, so every field is optional and
unknown fields are ignored. Numbers may arrive as strings and text as the literal "unknown";
both are read leniently here so that normalization only sees floats, real text or None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_text(value: Any) -> str | None:
    # VideoSDK writes the literal "unknown" where it has no value.
    if value is None or isinstance(value, dict | list):
        return None
    value = str(value).strip()
    return None if not value or value.lower() == "unknown" else value


def when(value: str | None) -> datetime | None:
    """An ISO-8601 stamp; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # VideoSDK stamps UTC ("...Z"); a stamp without a zone is read as UTC too, never local.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


Num = Annotated[float | None, BeforeValidator(as_number)]
Text = Annotated[str | None, BeforeValidator(as_text)]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Quality(_Raw):
    audio: Num = None
    video: Num = None


def _totals(side: str, media: str) -> AliasChoices:
    """Packet totals beside `*PacketLost`. The documented example has none; the names are the
    client SDKs' `totalPackets` in the REST fields' scheme, and WebRTC's packetsReceived /
    packetsSent. They are read when present, to tell a loss count from a percentage."""
    webrtc = "PacketsReceived" if side == "recv" else "PacketsSent"
    return AliasChoices(f"{side}{media}TotalPackets", f"{side}{media}{webrtc}")


class Stat(_Raw):
    """One sample. Units, decided from the documented example's magnitudes:

    * `*PacketLost` is read as a percentage or as a packet count from the values and any
      packet totals sent beside them (`providers.videosdk_normalize.loss_unit`): the example
      carries neither totals nor a non-zero loss, so nothing documents it.
    * `average*Rtt` and `average*Jitter` are milliseconds: the example's jitter of 2 would be
      an absurd 2 s, and its sub-millisecond RTTs fit a call on a local network.
    * `average*Bitrate` is bit/s: the example's 60,218 for audio is a plausible 60 kbit/s Opus
      stream, and 60 kB/s (480 kbit/s) is not; divided by 1000 for kbps.
    """

    time: Text = None
    recv_audio_loss: Num = Field(None, alias="recvAudioPacketLost")
    recv_video_loss: Num = Field(None, alias="recvVideoPacketLost")
    send_audio_loss: Num = Field(None, alias="sendAudioPacketLost")
    send_video_loss: Num = Field(None, alias="sendVideoPacketLost")
    recv_audio_packets: Num = Field(None, validation_alias=_totals("recv", "Audio"))
    recv_video_packets: Num = Field(None, validation_alias=_totals("recv", "Video"))
    send_audio_packets: Num = Field(None, validation_alias=_totals("send", "Audio"))
    send_video_packets: Num = Field(None, validation_alias=_totals("send", "Video"))
    audio_rtt: Num = Field(None, alias="averageAudioRtt")
    video_rtt: Num = Field(None, alias="averageVideoRtt")
    audio_jitter: Num = Field(None, alias="averageAudioJitter")
    video_jitter: Num = Field(None, alias="averageVideoJitter")
    send_audio_bitrate: Num = Field(None, alias="averageSendAudioBitrate")
    send_video_bitrate: Num = Field(None, alias="averageSendVideoBitrate")
    recv_audio_bitrate: Num = Field(None, alias="averageRecvAudioBitrate")
    recv_video_bitrate: Num = Field(None, alias="averageRecvVideoBitrate")
    quality: Quality | None = Field(None, alias="qualityScore")


class Device(_Raw):
    name: Text = Field(None, alias="deviceName")
    version: Text = Field(None, alias="deviceVersion")


class Sdk(_Raw):
    name: Text = Field(None, alias="sdkName")
    version: Text = Field(None, alias="sdkVersion")


class Location(_Raw):
    country: Text = None
    city: Text = None
    region: Text = None


class Net(_Raw):
    asn: Text = None
    org: Text = None


class ParticipantStats(_Raw):
    """The body of GET /v2/sessions/{s}/participant/{p}/stats."""

    session_id: Text = Field(None, alias="sessionId")
    meeting_id: Text = Field(None, alias="meetingId")
    participant_id: Text = Field(None, alias="participantId")
    participant_name: Text = Field(None, alias="participantName")
    device: Device | None = Field(None, alias="deviceInfo")
    sdk: Sdk | None = Field(None, alias="sdkInfo")
    location: Location | None = None
    network: Net | None = None
    stats: list[Stat] | None = None
    # Entries are {"180": n, "360": n, ..., "time": iso}; kept loose because the keys are data.
    resolution_usage: list[dict[str, Any]] | None = Field(None, alias="resolutionUsage")


class Timelog(_Raw):
    start: Text = None
    end: Text = None


class ListedParticipant(_Raw):
    participant_id: Text = Field(None, alias="participantId")
    name: Text = None
    timelog: list[Timelog] | None = None


class Session(_Raw):
    id: Text = None
    room_id: Text = Field(None, alias="roomId")
    participants: list[ListedParticipant] | None = None


class PageInfo(_Raw):
    current_page: Num = Field(None, alias="currentPage")
    last_page: Num = Field(None, alias="lastPage")
    total: Num = None


class ParticipantsPage(_Raw):
    """One page of GET /v2/sessions/{s}/participants."""

    page_info: PageInfo | None = Field(None, alias="pageInfo")
    # The docs show an object; the official SDK also accepts an array of sessions.
    data: Session | list[Session] | None = None
