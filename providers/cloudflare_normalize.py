"""Cloudflare RealtimeKit raw peer report / participant details -> normalized Report.

Identity, client, network path, events and the provider's cumulative summaries come from the
typed raw models; the per-sample stats are turned into series by `cloudflare_series`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from providers import cloudflare_raw as raw
from providers.cloudflare_series import MEDIA, SIDES, add_series, when
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
    Summary,
)

PROVIDER = "cf"  # the registry name of the Cloudflare provider


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
        provider=PROVIDER,
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
        add_series(report, report_.quality)
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
