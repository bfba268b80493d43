"""VideoSDK (videosdk.live): one participant's quality stats from the v2 REST API.

    videosdk <session_id> <participant_id>   GET /v2/sessions/{s}/participant/{p}/stats
    videosdk session <session_id>            GET /v2/sessions/{s}/participants (paginated)

Auth is a short-lived HS256 JWT minted from VIDEOSDK_API_KEY / VIDEOSDK_SECRET_KEY and sent
as the bare `Authorization` header (no `Bearer` prefix). VideoSDK publishes no schema for the
stats body, only an example, so every field is optional and units are decided below from the
magnitudes in that example (see `_Stat`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import httpx
import jwt
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from providers.base import (
    BadResponseError,
    ConfigError,
    InputError,
    Lookup,
    RetryPolicy,
    check_id,
    make_client,
    missing_settings,
    register,
    request_json,
    segment,
)
from providers.models import (
    Client,
    Direction,
    Listing,
    ListingRow,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
)

if TYPE_CHECKING:
    from bot.config import Settings

NAME = "videosdk"
LABEL = "VideoSDK"
MAX_ID_LEN = 64  # VideoSDK ids are short (24-hex session ids, 8-char participant ids)
AUTH_HINT = "Check VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY."
FORMS = ("videosdk <session_id> <participant_id>", "videosdk session <session_id>")

TOKEN_TTL_S = 600
TOKEN_RENEW_BEFORE_S = 60
# The official server SDK mints its REST tokens with these permissions; the `crawler` role is
# what keeps such a token out of meetings, so nothing here can join a call.
TOKEN_PERMISSIONS = ("allow_join", "allow_mod")

PER_PAGE = 50
MAX_PAGES = 20  # 1,000 participants: more than any session we are asked about

# What the stats endpoint never carries, whatever the call was like.
ALWAYS_MISSING = (
    "frame rate",
    "encoder limitation reasons",
    "ICE/relay path",
    "network type",
    "events",
    "join/leave times",
)
_BROWSERS = frozenset(("chrome", "chromium", "firefox", "safari", "edge", "opera", "brave"))


class TokenSource:
    """Mints the VideoSDK server token and reuses it until it is close to expiry.

    `clock` returns Unix seconds; tests inject one to cross the renewal point without waiting.
    """

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        ttl_s: int = TOKEN_TTL_S,
        renew_before_s: int = TOKEN_RENEW_BEFORE_S,
        permissions: tuple[str, ...] = TOKEN_PERMISSIONS,
        clock: Callable[[], float] = time.time,
    ):
        self._api_key = api_key
        self._secret = secret
        self._ttl_s = ttl_s
        self._renew_before_s = renew_before_s
        self._permissions = list(permissions)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:  # the secret stays out of reprs, logs and debuggers
        return "TokenSource(<hidden>)"

    def token(self) -> str:
        now = self._clock()
        if self._token is None or self._expires - now < self._renew_before_s:
            iat = int(now)
            claims = {
                "apikey": self._api_key,
                "permissions": self._permissions,
                "version": 2,  # v2 REST refuses tokens without it
                "roles": ["crawler"],  # server-side API access only
                "iat": iat,
                "exp": iat + self._ttl_s,
            }
            self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            self._expires = float(iat + self._ttl_s)
        return self._token


# --- raw VideoSDK shapes ------------------------------------------------------------------------


def _num(value: Any) -> float | None:
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


def _text(value: Any) -> str | None:
    # VideoSDK writes the literal "unknown" where it has no value.
    if value is None or isinstance(value, dict | list):
        return None
    value = str(value).strip()
    return None if not value or value.lower() == "unknown" else value


Num = Annotated[float | None, BeforeValidator(_num)]
Text = Annotated[str | None, BeforeValidator(_text)]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Quality(_Raw):
    audio: Num = None
    video: Num = None


class _Stat(_Raw):
    """One sample. Units, decided from the documented example's magnitudes:

    * `*PacketLost` is a percentage of the interval's packets: the example carries no packets
      sent/received to turn a count into a rate. If a response holds values above 100 they
      can only be counts; that response's loss is then dropped rather than misread.
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
    audio_rtt: Num = Field(None, alias="averageAudioRtt")
    video_rtt: Num = Field(None, alias="averageVideoRtt")
    audio_jitter: Num = Field(None, alias="averageAudioJitter")
    video_jitter: Num = Field(None, alias="averageVideoJitter")
    send_audio_bitrate: Num = Field(None, alias="averageSendAudioBitrate")
    send_video_bitrate: Num = Field(None, alias="averageSendVideoBitrate")
    recv_audio_bitrate: Num = Field(None, alias="averageRecvAudioBitrate")
    recv_video_bitrate: Num = Field(None, alias="averageRecvVideoBitrate")
    quality: _Quality | None = Field(None, alias="qualityScore")


class _Device(_Raw):
    name: Text = Field(None, alias="deviceName")
    version: Text = Field(None, alias="deviceVersion")


class _Sdk(_Raw):
    name: Text = Field(None, alias="sdkName")
    version: Text = Field(None, alias="sdkVersion")


class _Location(_Raw):
    country: Text = None
    city: Text = None
    region: Text = None


class _Net(_Raw):
    asn: Text = None
    org: Text = None


class _ParticipantStats(_Raw):
    session_id: Text = Field(None, alias="sessionId")
    meeting_id: Text = Field(None, alias="meetingId")
    participant_id: Text = Field(None, alias="participantId")
    participant_name: Text = Field(None, alias="participantName")
    device: _Device | None = Field(None, alias="deviceInfo")
    sdk: _Sdk | None = Field(None, alias="sdkInfo")
    location: _Location | None = None
    network: _Net | None = None
    stats: list[_Stat] | None = None
    # Entries are {"180": n, "360": n, ..., "time": iso}; kept loose because the keys are data.
    resolution_usage: list[dict[str, Any]] | None = Field(None, alias="resolutionUsage")


class _Timelog(_Raw):
    start: Text = None
    end: Text = None


class _ListedParticipant(_Raw):
    participant_id: Text = Field(None, alias="participantId")
    name: Text = None
    timelog: list[_Timelog] | None = None


class _Session(_Raw):
    id: Text = None
    room_id: Text = Field(None, alias="roomId")
    participants: list[_ListedParticipant] | None = None


class _PageInfo(_Raw):
    current_page: Num = Field(None, alias="currentPage")
    last_page: Num = Field(None, alias="lastPage")
    total: Num = None


class _ParticipantsPage(_Raw):
    page_info: _PageInfo | None = Field(None, alias="pageInfo")
    # The docs show an object; the official SDK also accepts an array of sessions.
    data: _Session | list[_Session] | None = None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    # VideoSDK stamps UTC ("...Z"); a stamp without a zone is read as UTC too, never local.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- normalization -----------------------------------------------------------------------------

# (media, direction, metric, raw attribute, scale to our unit)
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
        height, share = _num(key), _num(value)
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


def normalize(raw: _ParticipantStats, session_id: str, participant_id: str) -> Report:
    """Translate VideoSDK's participant stats into the shared Report."""
    missing: list[str] = []
    notes: list[str] = []
    samples = [(when, s) for s in raw.stats or [] if (when := _when(s.time)) is not None]
    samples.sort(key=lambda pair: pair[0])
    times = [when.timestamp() for when, _ in samples]

    series: list[Series] = []
    for media, direction, metric, attr, scale in _FIELDS:
        values = [getattr(s, attr) for _, s in samples]
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
        values = [getattr(s.quality, attr) if s.quality else None for _, s in samples]
        _add(series, media, Direction.RECEIVE, Metric.SCORE, times, values)

    # resolutionUsage is taken as the share of received video at each resolution bucket; the
    # series holds the dominant bucket per sample, i.e. the height most of the received video
    # had (an upper bound: a 270p stream counts in the 360 bucket).
    usage = [(when, u) for u in raw.resolution_usage or [] if (when := _when(_text(u.get("time"))))]
    usage.sort(key=lambda pair: pair[0])
    heights = [_dominant_height(u) for _, u in usage]
    usage_times = [w.timestamp() for w, _ in usage]
    _add(series, Media.VIDEO, Direction.RECEIVE, Metric.HEIGHT, usage_times, heights)

    if not samples:
        missing.append("stats (VideoSDK returned no samples for this participant)")
    else:
        present = {s.metric for s in series}
        for metric, words in (
            (Metric.LOSS, "packet loss"),
            (Metric.RTT, "round-trip time"),
            (Metric.JITTER, "jitter"),
            (Metric.BITRATE, "bitrate"),
            (Metric.SCORE, "quality score"),
        ):
            if metric not in present:
                missing.append(words)
    if not any(s.metric == Metric.HEIGHT for s in series):
        missing.append("resolution")
    missing.extend(ALWAYS_MISSING)

    device = raw.device or _Device()
    is_browser = device.name is not None and device.name.lower() in _BROWSERS
    sdk = raw.sdk or _Sdk()
    location = raw.location or _Location()
    net = raw.network or _Net()
    ids = {"session": session_id, "participant": participant_id}
    if raw.meeting_id:
        ids["room"] = raw.meeting_id
    return Report(
        provider=NAME,
        ids=ids,
        participant=Participant(
            id=raw.participant_id or participant_id,
            display_name=raw.participant_name,
            session_id=raw.session_id or session_id,
        ),
        # deviceInfo names the browser on web clients ("Chrome" / "102.0.0.0"), a device elsewhere.
        client=Client(
            browser=device.name if is_browser else None,
            browser_version=device.version if is_browser else None,
            device=None
            if is_browser
            else " ".join(filter(None, (device.name, device.version))) or None,
            sdk_name=sdk.name,
            sdk_version=sdk.version,
        ),
        network=Network(
            asn=net.asn,
            org=net.org,
            city=location.city,
            region=location.region,
            country=location.country,
        ),
        series=series,
        missing=missing,
        notes=notes,
        window_start=samples[0][0] if samples else None,
        window_end=samples[-1][0] if samples else None,
    )


def _listing(session_id: str, pages: list[_ParticipantsPage], truncated: bool) -> Listing:
    rows: dict[str, ListingRow] = {}
    for page in pages:
        sessions = page.data if isinstance(page.data, list) else [page.data] if page.data else []
        # An array may hold other sessions; keep ours when it is there.
        ours = [s for s in sessions if s.id == session_id] or sessions
        for session in ours:
            for p in session.participants or []:
                if not p.participant_id or p.participant_id in rows:
                    continue
                spans = [(_when(t.start), _when(t.end)) for t in p.timelog or []]
                starts = [a for a, _ in spans if a]
                ends = [b for _, b in spans if b]
                still_in = any(a and not b for a, b in spans)
                duration = sum((b - a).total_seconds() for a, b in spans if a and b)
                try:
                    check_id("participant id", p.participant_id, MAX_ID_LEN)
                    command = f"{NAME} {session_id} {p.participant_id}"
                except InputError:
                    command = None
                rows[p.participant_id] = ListingRow(
                    id=p.participant_id,
                    name=p.name,
                    joined_at=min(starts) if starts else None,
                    left_at=None if still_in or not ends else max(ends),
                    duration_s=duration if spans else None,
                    command=command,
                )
    total = len(rows)
    notes = []
    last = pages[-1].page_info if pages else None
    if truncated:
        notes.append(f"Only the first {len(pages)} pages of participants are shown.")
        if last and last.total is not None:
            total = int(last.total)
    return Listing(
        provider=NAME,
        title=f"{LABEL} session {session_id}: {len(rows)} participant(s)",
        ids={"session": session_id},
        rows=sorted(
            rows.values(),
            key=lambda r: (r.joined_at.timestamp() if r.joined_at else float("inf"), r.id),
        ),
        total=total,
        notes=notes,
    )


# --- the provider ------------------------------------------------------------------------------


@register
class VideoSDKProvider:
    name: ClassVar[str] = NAME
    label: ClassVar[str] = LABEL
    aliases: ClassVar[tuple[str, ...]] = ("vs",)
    settings_needed: ClassVar[tuple[str, ...]] = ("VIDEOSDK_API_KEY", "VIDEOSDK_SECRET_KEY")
    usage: ClassVar[tuple[str, ...]] = FORMS
    example: ClassVar[str] = "videosdk 62d13ccea0f6ac85649d7931 fj9jxhtw"

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        base_url: str = "https://api.videosdk.live",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        per_page: int = PER_PAGE,
        max_pages: int = MAX_PAGES,
    ):
        self._tokens = TokenSource(api_key, secret, clock=clock)
        kwargs = {"timeout": timeout} if timeout is not None else {}
        self._client = make_client(base_url, transport=transport, **kwargs)
        self._retry = retry
        self._per_page = per_page
        self._max_pages = max_pages

    @classmethod
    def parse(cls, args: list[str]) -> Lookup:
        words = tuple(args)
        if len(words) == 2 and words[0].lower() == "session":
            sid = check_id("VideoSDK session id", words[1], MAX_ID_LEN)
            return Lookup(NAME, "session", (("session", sid),), args=words)
        if len(words) == 2:
            sid = check_id("VideoSDK session id", words[0], MAX_ID_LEN)
            pid = check_id("VideoSDK participant id", words[1], MAX_ID_LEN)
            return Lookup(NAME, "participant", (("session", sid), ("participant", pid)), args=words)
        got = "nothing" if not words else f"{len(words)} word(s)"
        hint = (
            f" To list the session's participants: `videosdk session {words[0]}`."
            if len(words) == 1 and len(words[0]) <= MAX_ID_LEN
            else ""
        )
        raise InputError(
            f"{LABEL} needs a session id and a participant id, got {got}. "
            f"Use `{FORMS[0]}` or `{FORMS[1]}`.{hint}"
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> VideoSDKProvider:
        missing = missing_settings(settings, cls.settings_needed)
        if missing:
            raise ConfigError(NAME, LABEL, missing)
        secret = settings.videosdk_secret_key
        return cls(
            settings.videosdk_api_key or "",
            secret.get_secret_value() if secret else "",
            base_url=settings.videosdk_base_url,
            transport=transport,
            timeout=httpx.Timeout(
                settings.http_timeout_s, connect=min(5.0, settings.http_timeout_s)
            ),
            retry=retry,
            clock=clock,
        )

    def fetch(self, lookup: Lookup) -> Report | Listing:
        ids = lookup.id_map
        # Second fence: a Lookup built by hand is checked like a parsed one.
        sid = check_id("VideoSDK session id", ids.get("session", ""), MAX_ID_LEN)
        if lookup.kind == "session":
            return self.participants(sid)
        pid = check_id("VideoSDK participant id", ids.get("participant", ""), MAX_ID_LEN)
        return self.report(sid, pid)

    def report(self, session_id: str, participant_id: str) -> Report:
        body = self._get(
            f"v2/sessions/{segment(session_id)}/participant/{segment(participant_id)}/stats",
            not_found=f"{LABEL} has no participant `{participant_id}` in session `{session_id}`.",
        )
        try:
            raw = _ParticipantStats.model_validate(body)
        except ValidationError:
            raise BadResponseError(
                f"{LABEL} answered with participant stats in an unexpected shape.", provider=NAME
            ) from None
        return normalize(raw, session_id, participant_id)

    def participants(self, session_id: str) -> Listing:
        pages: list[_ParticipantsPage] = []
        page = 1
        truncated = False
        while True:
            body = self._get(
                f"v2/sessions/{segment(session_id)}/participants",
                params={"page": page, "perPage": self._per_page},
                not_found=f"{LABEL} has no session `{session_id}`.",
            )
            try:
                parsed = _ParticipantsPage.model_validate(body)
            except ValidationError:
                raise BadResponseError(
                    f"{LABEL} answered with a participant list in an unexpected shape.",
                    provider=NAME,
                ) from None
            pages.append(parsed)
            info = parsed.page_info
            if not info or info.current_page is None or info.last_page is None:
                break
            if info.current_page >= info.last_page:
                break
            if len(pages) >= self._max_pages:
                truncated = True
                break
            page = int(info.current_page) + 1
        return _listing(session_id, pages, truncated)

    def _get(self, path: str, *, not_found: str, params: dict[str, Any] | None = None) -> Any:
        body = request_json(
            self._client,
            path,
            provider=NAME,
            label=LABEL,
            params=params,
            headers={"Authorization": self._tokens.token()},
            auth_hint=AUTH_HINT,
            not_found=not_found,
            retry=self._retry,
        )
        if not isinstance(body, dict):
            raise BadResponseError(
                f"{LABEL} answered with JSON that is not an object.", provider=NAME
            )
        return body

    def close(self) -> None:
        self._client.close()
