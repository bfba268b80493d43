"""Cloudflare RealtimeKit: peer report / participant details -> normalized Report.

Forms: `cf <peer_id>` (the peer report), `cf <session_id> <participant_id>` (participant details
joined with that participant's peer report; the participant id is the peer id) and
`cf session <session_id>` (the participants of a session).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import ValidationError

from providers import cloudflare_raw as raw
from providers.base import (
    BadResponseError,
    ConfigError,
    InputError,
    Lookup,
    NotFoundError,
    RetryPolicy,
    check_uuid,
    error_message,
    make_client,
    missing_settings,
    register,
    request_json,
    segment,
)
from providers.models import (
    Client,
    Direction,
    Event,
    EventKind,
    Limitation,
    Listing,
    ListingRow,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
    Summary,
)

if TYPE_CHECKING:
    from bot.config import Settings

LABEL = "Cloudflare RealtimeKit"
AUTH_HINT = (
    'Check CLOUDFLARE_API_TOKEN: it needs the "Realtime" or "Realtime Admin" permission on '
    "the account in CLOUDFLARE_ACCOUNT_ID (and REALTIMEKIT_APP_ID must be an app of it)."
)
FORMS = ("cf <peer_id>", "cf <session_id> <participant_id>", "cf session <session_id>")

MEDIA = (
    (Media.AUDIO, "audio"),
    (Media.VIDEO, "video"),
    (Media.SCREEN_AUDIO, "screenshare_audio"),
    (Media.SCREEN_VIDEO, "screenshare_video"),
)
SIDES = ((Direction.SEND, "producer"), (Direction.RECEIVE, "consumer"))
# WebRTC reports jitter and RTT in seconds; the API does not state its unit. A series whose
# values all stay below 5 is taken as seconds: 5 s of jitter or RTT is beyond any usable call,
# while a whole call under 5 ms only happens on a LAN.
SECONDS_BELOW = 5.0
WORSE_IS_HIGHER = {Metric.LOSS, Metric.JITTER, Metric.RTT, Metric.JITTER_BUFFER}


@register
class CloudflareProvider:
    name: ClassVar[str] = "cf"
    aliases: ClassVar[tuple[str, ...]] = ("cloudflare",)
    label: ClassVar[str] = LABEL
    settings_needed: ClassVar[tuple[str, ...]] = (
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "REALTIMEKIT_APP_ID",
    )
    usage: ClassVar[tuple[str, ...]] = FORMS
    example: ClassVar[str] = "cf 182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
    page_size: int = 100
    max_pages: int = 10

    def __init__(
        self, client: httpx.Client, account_id: str, app_id: str, retry: RetryPolicy | None = None
    ):
        self.client = client
        self.retry = retry
        self._root = f"accounts/{segment(account_id)}/realtime/kit/{segment(app_id)}/sessions"

    @classmethod
    def parse(cls, args: list[str]) -> Lookup:
        """Validate the words after `cf`; nothing is sent."""
        forms = "Use " + ", ".join(f"`{f}`" for f in FORMS) + "."
        if len(args) == 2 and args[0].lower() == "session":
            sid = check_uuid("session id", args[1])
            return Lookup(cls.name, "session", (("session_id", sid),), args=("session", sid))
        if len(args) == 1 and args[0].lower() != "session":
            peer = check_uuid("peer id", args[0])
            return Lookup(cls.name, "participant", (("peer_id", peer),), args=(peer,))
        if len(args) == 2:
            sid = check_uuid("session id", args[0])
            pid = check_uuid("participant id", args[1])
            ids = (("session_id", sid), ("participant_id", pid))
            return Lookup(cls.name, "participant", ids, args=(sid, pid))
        raise InputError(f"{LABEL} takes a peer id, or a session id and a participant id. {forms}")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> CloudflareProvider:
        missing = missing_settings(settings, cls.settings_needed)
        if missing:
            raise ConfigError(cls.name, LABEL, missing)
        token = settings.cloudflare_api_token.get_secret_value()  # type: ignore[union-attr]
        timeout = httpx.Timeout(settings.http_timeout_s, connect=min(5.0, settings.http_timeout_s))
        client = make_client(
            settings.cloudflare_base_url,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=timeout,
        )
        return cls(client, settings.cloudflare_account_id, settings.realtimekit_app_id, retry)

    def close(self) -> None:
        self.client.close()

    # --- HTTP -----------------------------------------------------------------------------------
    def _get(self, path: str, not_found: str, **params: Any) -> raw.Envelope:
        body = request_json(
            self.client,
            f"{self._root}/{path}",
            provider=self.name,
            label=LABEL,
            params=params,
            auth_hint=AUTH_HINT,
            not_found=not_found,
            retry=self.retry,
        )
        if not isinstance(body, dict):
            raise BadResponseError(
                f"{LABEL} answered with JSON that is not an object.", provider=self.name
            )
        if body.get("success") is False:
            detail = error_message(body)
            err = body.get("error")
            if isinstance(err, dict) and err.get("code") == 404:
                raise NotFoundError(f"{not_found} ({detail})", provider=self.name, status=404)
            raise BadResponseError(
                f"{LABEL} reported a failure" + (f" ({detail[:200]})." if detail else "."),
                provider=self.name,
            )
        try:
            return raw.Envelope.model_validate(body)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise BadResponseError(
                f"{LABEL} answered in an unexpected shape (at `{where[:80]}`).", provider=self.name
            ) from None

    def _participant(self, path: str, not_found: str) -> raw.Participant:
        env = self._get(path, not_found, include_peer_events="true")
        if env.data is None or env.data.participant is None:
            raise NotFoundError(not_found, provider=self.name, status=200)
        return env.data.participant

    def fetch(self, lookup: Lookup) -> Report | Listing:
        ids = lookup.id_map
        if lookup.kind == "session":
            return self._listing(ids["session_id"])
        if "peer_id" in ids:
            peer = self._participant(
                f"peer-report/{segment(ids['peer_id'])}",
                f"No {LABEL} peer `{ids['peer_id']}` in this app (stats are kept 30 days).",
            )
            return normalize(peer, ids={"peer_id": ids["peer_id"]})
        sid, pid = ids["session_id"], ids["participant_id"]
        details = self._participant(
            f"{segment(sid)}/participants/{segment(pid)}",
            f"No participant `{pid}` in {LABEL} session `{sid}`.",
        )
        notes = []
        try:
            peer = self._participant(f"peer-report/{segment(pid)}", "No peer report.")
        except NotFoundError:
            peer, notes = None, [f"{LABEL} has no peer report (call stats) for this participant."]
        report = normalize(
            peer or raw.Participant(), details, {"session_id": sid, "participant_id": pid}
        )
        report.notes.extend(notes)
        return report

    def _listing(self, sid: str) -> Listing:
        rows: list[ListingRow] = []
        total: int | None = None
        not_found = f"No {LABEL} session `{sid}` in this app."
        for page in range(1, self.max_pages + 1):
            env = self._get(
                f"{segment(sid)}/participants",
                not_found,
                page_no=page,
                per_page=self.page_size,
            )
            data = env.data or raw.Data()
            got = [p for p in data.participants or [] if p is not None and p.id]
            paging = data.paging or env.paging
            if paging and paging.total_count is not None:
                total = paging.total_count
            rows += [
                ListingRow(
                    id=p.id,
                    name=p.display_name,
                    joined_at=when(p.joined_at),
                    left_at=when(p.left_at),
                    duration_s=p.duration * 60 if p.duration is not None else None,
                    command=f"cf {sid} {p.id}",
                )
                for p in got
            ]
            if len(got) < self.page_size or (total is not None and len(rows) >= total):
                break
        listing = Listing(
            provider=self.name,
            title=f"Participants of {LABEL} session {sid}",
            ids={"session_id": sid},
            rows=rows,
            total=total if total is not None else len(rows),
        )
        if listing.total and listing.total > len(rows):
            listing.notes.append(f"Showing the first {len(rows)} of {listing.total}.")
        return listing


# --- normalization -------------------------------------------------------------------------------


def when(text: str | None) -> datetime | None:
    """ISO 8601 (with `Z`) or epoch seconds/milliseconds; None for anything else."""
    if not text:
        return None
    try:
        if text.replace(".", "", 1).isdigit():
            value = float(text)
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=16384)  # every track of a report repeats the same sample times
def _epoch(text: str | None) -> float | None:
    parsed = when(text)
    return parsed.timestamp() if parsed else None


Columns = dict[Metric, list[float | None]]


def _track(samples: list[tuple[float, raw.Sample]], send: bool) -> tuple[list[float], Columns]:
    """Per-interval figures of one track. Counters are cumulative (WebRTC getStats): each
    interval is the difference to the previous sample that carried the counter; a decrease
    means the counter was reset, and that interval is left empty because its start is unknown."""
    times: list[float] = []
    cols: Columns = {m: [] for m in Metric if m != Metric.SCORE}
    prev_loss = prev_bytes = prev_jb = None
    for t, s in samples:
        times.append(t)
        loss = bitrate = jb = None
        base, lost = (s.packets_sent if send else s.packets_received), s.packets_lost
        if base is not None and lost is not None:
            if prev_loss and base >= prev_loss[0] and lost >= prev_loss[1]:
                d_lost = lost - prev_loss[1]
                # Outbound: lost (reported back by the receiver) is part of what was sent.
                expected = base - prev_loss[0] + (0 if send else d_lost)
                loss = min(100.0, 100.0 * d_lost / expected) if expected > 0 else None
            prev_loss = (base, lost)
        counted = s.bytes_sent if send else s.bytes_received
        if counted is not None:
            if prev_bytes and counted >= prev_bytes[1] and t > prev_bytes[0]:
                bitrate = (counted - prev_bytes[1]) * 8 / (t - prev_bytes[0]) / 1000
            prev_bytes = (t, counted)
        if not send and s.jitter_buffer_delay is not None and s.jitter_buffer_emitted_count:
            pair = (s.jitter_buffer_delay, s.jitter_buffer_emitted_count)
            if prev_jb and pair[1] > prev_jb[1] and pair[0] >= prev_jb[0]:
                # jitterBufferDelay is total seconds held over all emitted samples.
                jb = (pair[0] - prev_jb[0]) / (pair[1] - prev_jb[1]) * 1000
            prev_jb = pair
        mos = s.mos_quality if s.mos_quality and s.mos_quality > 0 else None
        cols[Metric.LOSS].append(loss)
        cols[Metric.BITRATE].append(bitrate)
        cols[Metric.JITTER].append(s.jitter)
        cols[Metric.RTT].append(s.rtt if send else None)
        cols[Metric.JITTER_BUFFER].append(jb)
        cols[Metric.FPS].append(s.frames_per_second)
        cols[Metric.WIDTH].append(s.frame_width or None)
        cols[Metric.HEIGHT].append(s.frame_height or None)
        cols[Metric.MOS].append(mos)
    return times, cols


def _combiner(metric: Metric, send: bool) -> Callable[[list[float]], float]:
    if metric in WORSE_IS_HIGHER:
        return max
    if send and metric == Metric.BITRATE:
        return sum  # simulcast layers of one camera add up to what was sent
    if send and metric in (Metric.FPS, Metric.WIDTH, Metric.HEIGHT):
        return max  # the top layer shows what the encoder produced
    return min


def _merge(tracks: list[tuple[list[float], Columns]], send: bool) -> tuple[list[float], Columns]:
    """Several tracks of one media and side (a consumer per remote peer, simulcast layers) are
    merged by timestamp, keeping the worst figure: one series per metric keeps the verdict and
    the chart simple, and the worst stream is the one a user complains about."""
    if len(tracks) == 1:
        return tracks[0]
    buckets: dict[float, dict[Metric, list[float]]] = {}
    for times, cols in tracks:
        for i, t in enumerate(times):
            slot = buckets.setdefault(round(t, 1), {})
            for metric, values in cols.items():
                if values[i] is not None:
                    slot.setdefault(metric, []).append(values[i])
    times = sorted(buckets)
    metrics = tracks[0][1].keys()
    merged: Columns = {m: [] for m in metrics}
    for metric in metrics:
        pick = _combiner(metric, send)
        for t in times:
            got = buckets[t].get(metric)
            merged[metric].append(pick(got) if got else None)
    return times, merged


def _series(report: Report, quality: raw.Quality) -> None:
    # Simulcast layers repeat the encoder's limitation reason: keep one per time, not "none"
    # when any layer names a reason.
    limits: dict[tuple[float, Media], str] = {}
    for media, prefix in MEDIA:
        for direction, side in SIDES:
            send = direction == Direction.SEND
            video_out = send and media in (Media.VIDEO, Media.SCREEN_VIDEO)
            by_track: dict[str, list[tuple[float, raw.Sample]]] = {}
            for s in getattr(quality, f"{prefix}_{side}") or ():
                t = _epoch(s.timestamp) if s is not None else None
                if t is None:
                    continue
                if video_out and s.quality_limitation_reason:
                    if limits.get((t, media), "none") == "none":
                        limits[(t, media)] = s.quality_limitation_reason
                owner = s.producer_id if send else (s.consumer_id or s.producer_id or s.peer_id)
                by_track.setdefault(f"{owner or s.mid}/{s.ssrc}", []).append((t, s))
            if not by_track:
                continue
            tracks = [_track(sorted(v, key=lambda p: p[0]), send) for v in by_track.values()]
            if len(tracks) > 1 and not send:
                report.notes.append(
                    f"Received {media.value} is the worst of {len(tracks)} streams at each time."
                )
            times, cols = _merge(tracks, send)
            for metric, values in cols.items():
                real = [v for v in values if v is not None]
                if not real:
                    continue
                if metric in (Metric.JITTER, Metric.RTT) and max(real) < SECONDS_BELOW:
                    values = [v * 1000 if v is not None else None for v in values]
                if metric == Metric.MOS and max(real) > 5:
                    metric = Metric.SCORE  # not on the 1-5 MOS scale
                report.series.append(
                    Series(
                        media=media, direction=direction, metric=metric, times=times, values=values
                    )
                )
    report.limitations = [
        Limitation(media=media, time=t, reason=reason)
        for (t, media), reason in sorted(limits.items())
    ]


def _summaries(report: Report, quality: raw.Quality) -> None:
    for media, prefix in MEDIA:
        for direction, side in SIDES:
            cum = getattr(quality, f"{prefix}_{side}_cumulative")
            if cum is not None and (values := cum.neutral()):
                report.summaries.append(Summary(media=media, direction=direction, values=values))


DEVICE_WORDS = {"audioinput": "Microphone", "videoinput": "Camera", "audiooutput": "Speaker"}


def _events(report: Report, p: raw.Participant, meta: raw.Metadata) -> None:
    def add(stamp: str | None, kind: EventKind, text: str) -> None:
        if (at := when(stamp)) is not None:
            report.events.append(Event(time=at, kind=kind, text=text))

    for ev in p.peer_events or ():
        if ev and ev.event_name == "PEER_JOINING":
            add(ev.created_at, EventKind.JOIN, "Joined the session")
        elif ev and ev.event_name == "PEER_LEAVING":
            add(ev.created_at, EventKind.LEAVE, "Left the session")
    for ev in meta.events or ():
        if ev is None or not ev.name:
            continue
        name = ev.name.lower().replace("_", " ")
        if "reconnect" in name or re.search(r"ice.?restart", name):
            kind = EventKind.RECONNECT
        elif any(w in name for w in ("warn", "error", "fail")):
            kind = EventKind.WARNING
        else:
            kind = EventKind.OTHER
        add(ev.timestamp, kind, re.sub(r"\bice\b", "ICE", name.capitalize(), flags=re.I))
    for update in meta.selected_device_updates or ():
        if update and update.device:
            what = DEVICE_WORDS.get(update.device.kind or "", "Device")
            add(
                update.timestamp,
                EventKind.DEVICE_CHANGE,
                f'{what} changed to "{_label(update.device)}"',
            )
    lists = (meta.audio_devices_updates, meta.video_devices_updates, meta.speaker_devices_updates)
    for update in (u for group in lists for u in group or () if u is not None):
        for verb, devices in (("connected", update.added), ("disconnected", update.removed)):
            for device in devices or ():
                if device:
                    what = DEVICE_WORDS.get(device.kind or "", "Device")
                    add(
                        update.timestamp,
                        EventKind.DEVICE_CHANGE,
                        f'{what} "{_label(device)}" {verb}',
                    )
    report.events.sort(key=lambda e: e.time)


def _label(device: raw.Device) -> str:
    return (device.label or device.device_id or "unnamed")[:80]


def _pair(pairs: raw.CandidatePairs | None, producing: bool) -> raw.CandidatePair | None:
    if pairs is None:
        return None
    got = [
        p
        for p in (pairs.producing_transport if producing else pairs.consuming_transport) or ()
        if p
    ]
    return next((p for p in got if p.nominated), got[-1] if got else None)


def _positive(value: float | None, scale: float = 1.0) -> float | None:
    return value / scale if value is not None and value > 0 else None


def _network(meta: raw.Metadata, legacy: raw.PeerStats | None) -> Network:
    ip = meta.ip_information or (legacy.ip_information if legacy else None) or raw.IpInformation()
    pairs = meta.candidate_pairs
    send, recv = _pair(pairs, True), _pair(pairs, False)
    pair = send or recv
    pcs = [pc for pc in meta.pc_metadata or () if pc]
    net = Network(
        ip=ip.ipv4,
        asn=str(ip.asn.asn) if ip.asn and ip.asn.asn is not None else None,
        org=ip.org or (ip.asn.name if ip.asn else None),
        city=ip.city,
        region=ip.region,
        country=ip.country,
        network_type=(pair.local_candidate_network_type if pair else None)
        or next(
            (pc.effective_network_type for pc in reversed(pcs) if pc.effective_network_type), None
        ),
        turn_connectivity=next(
            (pc.turn_connectivity for pc in reversed(pcs) if pc.turn_connectivity is not None), None
        ),
        available_outgoing_kbps=_positive(send.available_outgoing_bitrate, 1000) if send else None,
        available_incoming_kbps=_positive(recv.available_incoming_bitrate, 1000) if recv else None,
    )
    if pair:
        local, remote = pair.local_candidate_type, pair.remote_candidate_type
        net.local_candidate_type, net.remote_candidate_type = local, remote
        if local or remote:
            net.relayed = "relay" in (local, remote)
        transport = (pair.local_candidate_protocol or pair.remote_candidate_protocol or "").lower()
        url = (pair.local_candidate_url or "").lower()
        # A relay candidate's own protocol can read udp while the TURN leg runs over TCP/TLS.
        if net.relayed and "transport=tcp" in url:
            transport = "tls" if url.startswith("turns:") else "tcp"
        net.transport = transport or None
    return net


def _client(meta: raw.Metadata, legacy: raw.PeerStats | None) -> Client:
    dev = meta.device_info or (legacy.device_info if legacy else None) or raw.DeviceInfo()
    browser = meta.browser_metadata or raw.BrowserMetadata()
    return Client(
        os=dev.os,
        os_version=dev.os_version,
        cpus=_positive(dev.cpus),
        is_mobile=dev.is_mobile,
        browser=browser.browser or dev.browser,
        browser_version=browser.browser_version or dev.browser_version,
        user_agent=browser.user_agent or dev.user_agent,
        sdk_name=meta.sdk_name or dev.sdk_name,
        sdk_version=meta.sdk_version or dev.sdk_version,
    )


def _missing(report: Report, meta: raw.Metadata, legacy: raw.PeerStats | None) -> list[str]:
    if not report.has_stats:
        out = ["quality stats"]
    else:
        have = {(s.media, s.direction, s.metric) for s in report.series}
        media = {m for m, _, _ in have}
        sides = {d for _, d, _ in have}
        metrics = {x for _, _, x in have}
        out = [
            word
            for word, ok in (
                ("audio stats", Media.AUDIO in media),
                ("video stats", Media.VIDEO in media),
                ("send stats", Direction.SEND in sides),
                ("receive stats", Direction.RECEIVE in sides),
                ("packet loss", Metric.LOSS in metrics),
                ("jitter", Metric.JITTER in metrics),
                ("RTT", Metric.RTT in metrics),
            )
            if not ok
        ]
    if not (meta.ip_information or (legacy and legacy.ip_information)):
        out.append("location")
    if not (meta.device_info or meta.browser_metadata or (legacy and legacy.device_info)):
        out.append("device")
    if _pair(meta.candidate_pairs, True) is None and _pair(meta.candidate_pairs, False) is None:
        out.append("connection path")
    return out


def normalize(
    peer: raw.Participant, details: raw.Participant | None = None, ids: dict[str, str] | None = None
) -> Report:
    """The peer report (stats) and optionally participant details (identity) -> Report."""
    who = details or peer
    report_ = peer.peer_report or raw.PeerReport()
    meta = report_.metadata or raw.Metadata()
    legacy = who.peer_stats or peer.peer_stats
    duration = who.duration if who.duration is not None else peer.duration
    report = Report(
        provider=CloudflareProvider.name,
        ids=ids or {},
        participant=Participant(
            id=who.id or peer.id,
            display_name=who.display_name or peer.display_name,
            user_id=who.user_id or peer.user_id,
            custom_id=who.custom_participant_id or peer.custom_participant_id,
            session_id=who.session_id or peer.session_id or (ids or {}).get("session_id"),
            role=who.preset_name or who.role or peer.role or peer.preset_name,
            joined_at=when(who.joined_at or peer.joined_at),
            left_at=when(who.left_at or peer.left_at),
            duration_s=duration * 60 if duration is not None else None,
        ),
        client=_client(meta, legacy),
        network=_network(meta, legacy),
    )
    if report_.quality is not None:
        _series(report, report_.quality)
        _summaries(report, report_.quality)
    _events(report, _with_events(peer, details), meta)
    report.missing = _missing(report, meta, legacy)
    span = report.time_range()
    report.window_start = report.participant.joined_at or (
        datetime.fromtimestamp(span[0], UTC) if span else None
    )
    report.window_end = report.participant.left_at or (
        datetime.fromtimestamp(span[1], UTC) if span else None
    )
    return report


def _with_events(peer: raw.Participant, details: raw.Participant | None) -> raw.Participant:
    """Peer events come from whichever body carried them (details first)."""
    if details is not None and details.peer_events:
        return details
    return peer


def parse_peer_report(body: dict[str, Any], ids: Iterable[tuple[str, str]] = ()) -> Report:
    """Normalize one peer-report body (tests, fixtures and the benchmark use this seam)."""
    env = raw.Envelope.model_validate(body)
    participant = env.data.participant if env.data and env.data.participant else raw.Participant()
    return normalize(participant, ids=dict(ids))
