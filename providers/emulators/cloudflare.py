"""Loopback emulator of the Cloudflare RealtimeKit sessions API.

Serves the peer report, participant details and the participants of a session for every
sandbox call, in the API's own shapes: `{success, data}` envelopes, cumulative WebRTC counters,
ISO timestamps, jitter and RTT in seconds (WebRTC's unit; `delay_unit="ms"` renders them in
milliseconds instead, and `summaries=False` leaves out the cumulative summaries that let a
client tell the two apart). Each call has its own session; every call is also a
participant of one shared session (`shared_session_id`) so a session listing has several rows.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from providers.emulators import webhooks as hooks
from providers.emulators.webhooks import Delivery
from providers.sandbox import Emulator, Recorded, Reply
from providers.scenarios import AUDIO, RECEIVE, SEND, VIDEO, CallTruth, uuid_for

TOKEN = "sandbox-cloudflare-token"
ACCOUNT = "5a1f0c9e3b7d4e2f8a6c1b0d9e8f7a6b"
APP = "sandbox-app"
AUTH_FAILED = {
    "success": False,
    "errors": [{"code": 10000, "message": "Authentication error"}],
    "messages": [],
    "result": None,
}
JSON = {"Content-Type": "application/json"}
KEY_PATH = "/.well-known/webhooks.json"  # the webhook signing key, on the emulator's root
ENGINES = {"Chrome": "Blink", "Firefox": "Gecko", "Safari": "WebKit"}
DEVICE_TEXT = re.compile(r'^(Camera|Microphone|Speaker) changed to "(.+)"$')
DEVICE_KINDS = {"Camera": "videoinput", "Microphone": "audioinput", "Speaker": "audiooutput"}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _mos(loss: float | None, jitter: float | None, rtt: float | None) -> float | None:
    """Simplified E-model (G.107 R -> MOS), the kind of estimate the provider reports."""
    if loss is None:
        return None
    eff = (rtt if rtt is not None else 50) + 2 * (jitter if jitter is not None else 5) + 10
    r = 93.2 - (eff / 40 if eff < 160 else (eff - 120) / 10) - 2.5 * loss
    r = max(0.0, min(100.0, r))
    return round(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 2)


def _dist(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {
        "avg": round(sum(values) / len(values), 3),
        "p50": pct(0.5),
        "p75": pct(0.75),
        "p90": pct(0.9),
    }


def _fractions(values: list[float], cuts: tuple[int, ...], unit: str) -> dict[str, float] | None:
    if not values:
        return None
    out = {"avg": round(sum(values) / len(values), 3)}
    for cut in cuts:
        out[f"{cut}{unit}_or_greater_event_fraction"] = round(
            sum(v >= cut for v in values) / len(values), 4
        )
    return out


class CloudflareEmulator(Emulator):
    provider = "cf"
    base_url_env = "CLOUDFLARE_BASE_URL"
    base_path = "/client/v4"
    shared_session_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "callquality-sandbox/cf/shared"))

    def __init__(
        self,
        calls: list[CallTruth] | None = None,
        delay_unit: str = "s",
        summaries: bool = True,
        shared_home: bool = False,
    ):
        super().__init__(calls)
        self.delay_unit, self.summaries = delay_unit, summaries
        self.shared_home = shared_home
        self._bodies: dict[tuple[int, bool], bytes] = {}
        self._render_lock = threading.Lock()

    def credentials(self) -> dict[str, str]:
        return {
            "CLOUDFLARE_API_TOKEN": TOKEN,
            "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
            "REALTIMEKIT_APP_ID": APP,
        }

    def settings_env(self, base_url: str) -> dict[str, str]:
        root = base_url.removesuffix(self.base_path)
        return {**super().settings_env(base_url), "CLOUDFLARE_WEBHOOK_KEY_URL": root + KEY_PATH}

    def webhook(self, session_id: str | None = None, name: str = "meeting.ended") -> Delivery:
        event = hooks.cloudflare_event(session_id or self.shared_session_id, name)
        return hooks.cloudflare(self.signer, event)

    def demo_lookups(self) -> list[tuple[list[str], CallTruth]]:
        out = [(["cf", truth.uuid("peer")], truth) for truth in self.calls]
        if self.calls:
            first = self.calls[0]
            out.append((["cf", self.home(first), first.uuid("peer")], first))
        return out

    # --- routing --------------------------------------------------------------------------------
    def home(self, truth: CallTruth) -> str:
        """The session a call belongs to: in the sandbox every call is a participant of the
        shared session (so a session listing ranks them all); alone, each has its own."""
        return self.shared_session_id if self.shared_home else truth.uuid("session")

    def _peers(self) -> dict[str, CallTruth]:
        return {truth.uuid("peer"): truth for truth in self.calls}

    def _session(self, sid: str) -> list[CallTruth] | None:
        if sid == self.shared_session_id:
            return list(self.calls)
        found = [truth for truth in self.calls if self.home(truth) == sid]
        return found or None

    def route(self, req: Recorded) -> Reply:
        if req.path == KEY_PATH:  # public, like the real one
            return 200, JSON, {"success": True, "data": {"publicKey": self.signer.public_pem()}}
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, JSON, AUTH_FAILED
        if not req.path.startswith(self.base_path + "/"):
            return _missing("Route not found")
        parts = [unquote(p) for p in req.path[len(self.base_path) + 1 :].split("/")]
        if len(parts) < 6 or parts[0] != "accounts" or parts[2:4] != ["realtime", "kit"]:
            return _missing("Route not found")
        if parts[1] != ACCOUNT:
            # The gateway refuses a token on an account it was not issued for.
            return (
                403,
                JSON,
                {
                    "success": False,
                    "errors": [
                        {"code": 9109, "message": "Unauthorized to access requested resource"}
                    ],
                    "messages": [],
                    "result": None,
                },
            )
        if parts[4] != APP:
            return _missing("App not found")
        if req.method != "GET":
            return (
                405,
                JSON,
                {"success": False, "error": {"code": 405, "message": "Method not allowed"}},
            )
        rest = parts[5:]
        if rest[:1] != ["sessions"]:
            return _missing("Route not found")
        if len(rest) == 3 and rest[1] == "peer-report":
            truth = self._peers().get(rest[2])
            if truth is None:
                return _missing(f"No peer found with id {rest[2]}")
            return 200, JSON, self._peer_report(truth, req.param("include_peer_events") == "true")
        if len(rest) in (3, 4) and rest[2] == "participants":
            truths = self._session(rest[1])
            if truths is None:
                return _missing(f"No session found with id {rest[1]}")
            if len(rest) == 3:
                return 200, {}, self._participants(truths, req)
            truth = next((t for t in truths if t.uuid("peer") == rest[3]), None)
            if truth is None:
                return _missing(f"No participant found with id {rest[3]}")
            events = req.param("include_peer_events") == "true"
            details = _details(truth, events, self.home(truth))
            return 200, {}, {"success": True, "data": {"participant": details}}
        return _missing("Route not found")

    def _participants(self, truths: list[CallTruth], req: Recorded) -> dict[str, Any]:
        try:
            page = max(1, int(req.param("page_no") or 1))
            per_page = max(1, min(100, int(req.param("per_page") or 20)))
        except ValueError:
            return {"success": False, "error": {"code": 400, "message": "Invalid paging"}}
        start = (page - 1) * per_page
        chunk = truths[start : start + per_page]
        events = req.param("include_peer_events") == "true"
        return {
            "success": True,
            "data": {
                "participants": [_details(t, events, self.home(t)) for t in chunk],
                "paging": {
                    "total_count": len(truths),
                    "start_offset": start,
                    "end_offset": start + len(chunk),
                },
            },
        }

    def _peer_report(self, truth: CallTruth, events: bool) -> bytes:
        # Rendered once per call: a benchmark serves an hour sampled every second.
        key = (id(truth), events)
        body = self._bodies.get(key)
        if body is None:
            with self._render_lock:
                body = self._bodies.get(key)
                if body is None:
                    participant = _identity(truth, events, self.home(truth)) | {
                        "role": "group_call_host",
                        "session_id": self.home(truth),
                        "peer_report": render_report(truth, self.delay_unit, self.summaries),
                    }
                    envelope = {"success": True, "data": {"participant": participant}}
                    body = self._bodies[key] = json.dumps(envelope).encode()
        return body


def _missing(message: str) -> Reply:
    return 404, JSON, {"success": False, "error": {"code": 404, "message": message}}


def _identity(truth: CallTruth, events: bool, session: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": truth.uuid("peer"),
        "created_at": _iso(truth.start - timedelta(seconds=2)),
        "updated_at": _iso(truth.end),
        "custom_participant_id": None if truth.sparse else f"{truth.key}-{truth.profile.user_id}",
        "display_name": truth.profile.name,
        "user_id": truth.profile.user_id,
        "duration": round(truth.duration_s / 60, 4),
        "joined_at": _iso(truth.start),
        "left_at": _iso(truth.end),
    }
    if events:
        names = {"join": "PEER_JOINING", "leave": "PEER_LEAVING"}
        out["peer_events"] = [
            {
                "id": truth.uuid(f"peer-event-{i}"),
                "created_at": _iso(truth.start + timedelta(seconds=offset)),
                "event_name": names[kind],
                "peer_id": truth.uuid("peer"),
                "session_id": session,
                "preset_view_type": "GROUP_CALL",
            }
            for i, (offset, kind, _text) in enumerate(truth.events)
            if kind in names
        ]
    return _clean(out)


def _details(truth: CallTruth, events: bool, session: str) -> dict[str, Any]:
    return _identity(truth, events, session) | {"preset_name": "group_call_host"}


# --- the peer report ---------------------------------------------------------------------------


def render_report(
    truth: CallTruth, delay_unit: str = "s", summaries: bool = True
) -> dict[str, Any]:
    """`data.participant.peer_report` for one call, jitter and RTT in `delay_unit` (s | ms)."""
    quality: dict[str, Any] = {}
    for media in (AUDIO, VIDEO, "screenshare_audio", "screenshare_video"):
        for direction, side in ((SEND, "producer"), (RECEIVE, "consumer")):
            track = truth.tracks.get((media, direction))
            if not track:
                quality[f"{media}_{side}"] = []
                continue
            samples, cumulative = _samples(truth, media, direction, track, delay_unit)
            quality[f"{media}_{side}"] = samples
            if summaries:
                quality[f"{media}_{side}_cumulative"] = cumulative
    return {"metadata": _metadata(truth), "quality": quality}


def _samples(
    truth: CallTruth, media: str, direction: str, track: dict[str, list], delay_unit: str = "s"
):
    send = direction == SEND
    per_ms = 1.0 if delay_unit == "ms" else 0.001
    video = media == VIDEO
    stamps = [_iso(datetime.fromtimestamp(t, UTC)) for t in truth.times()]
    dt = truth.interval_s
    track_id = truth.uuid(f"{media}-{direction}")
    # The sender: another call of the sandbox when the truth names one.
    sender = uuid_for(truth.remote, "peer") if truth.remote else truth.uuid("remote-peer")
    ssrc = int(truth.token(f"ssrc-{media}-{direction}", 8), 16)
    n = truth.n
    get = {
        m: track.get(m) or [None] * n
        for m in ("loss_pct", "jitter_ms", "rtt_ms", "bitrate_kbps", "fps", "width", "height")
    }
    packets = lost = byte_count = jb_delay = jb_count = frames = 0.0
    last_loss, last_kbps, last_fps = 0.0, 0.0, 30.0
    out: list[dict[str, Any]] = []
    moss: list[float] = []
    losses: list[float] = []
    rtts: list[float] = []
    jbs: list[float] = []
    limited: dict[str, int] = {}
    for i in range(n):
        loss, jitter, rtt, kbps, fps = (
            get[m][i] for m in ("loss_pct", "jitter_ms", "rtt_ms", "bitrate_kbps", "fps")
        )
        last_loss = loss if loss is not None else last_loss
        last_kbps = kbps if kbps is not None else last_kbps
        last_fps = fps if fps is not None else last_fps
        # Real counters keep counting when a sample lacks a field, so gaps use the last value.
        count = (last_kbps * 1000 / 8 / 1100 if video else 50) * dt
        packets += count * (1 if send else 1 - last_loss / 100)
        lost += count * last_loss / 100
        byte_count += last_kbps * 1000 / 8 * dt
        frames += last_fps * dt
        sample: dict[str, Any] = {
            "timestamp": stamps[i],
            "mid": "1" if video else "0",
            "ssrc": ssrc,
            "jitter": round(jitter * per_ms, 6) if jitter is not None else None,
            "mos_quality": _mos(loss, jitter, get["rtt_ms"][i]),
        }
        if send:
            sample |= {
                "producer_id": track_id,
                "bytes_sent": round(byte_count),
                "packets_sent": round(packets),
                "packets_lost": round(lost) if loss is not None else None,
                "rtt": round(rtt * per_ms, 6) if rtt is not None else None,
            }
            if rtt is not None:
                rtts.append(rtt)
        else:
            emitted = (last_fps if video else 50) * dt
            target = 20 + 2 * (jitter if jitter is not None else 5)
            jb_count += emitted
            jb_delay += target / 1000 * emitted
            jbs.append(target)
            sample |= {
                "consumer_id": track_id,
                "producer_id": truth.uuid(f"remote-{media}"),
                "peer_id": sender,
                "bytes_received": round(byte_count),
                "packets_received": round(packets),
                "packets_lost": round(lost) if loss is not None else None,
                "jitter_buffer_delay": round(jb_delay, 4),
                "jitter_buffer_emitted_count": round(jb_count),
            }
        if video:
            sample |= {
                "frame_width": get["width"][i],
                "frame_height": get["height"][i],
                "frames_per_second": round(fps, 2) if fps is not None else None,
                ("frames_encoded" if send else "frames_decoded"): round(frames),
            }
            if send and i < len(truth.limitation) and truth.limitation[i]:
                reason = truth.limitation[i]
                limited[reason] = limited.get(reason, 0) + 1
                sample["quality_limitation_reason"] = reason
                sample["quality_limitation_durations"] = {
                    k: limited.get(k, 0) * dt for k in ("bandwidth", "cpu", "none", "other")
                }
        if sample["mos_quality"] is not None:
            moss.append(sample["mos_quality"])
        if loss is not None:
            losses.append(loss)
        out.append(_clean(sample))
    return out, _cumulative(truth, send, video, track, moss, losses, rtts, jbs, limited)


def _cumulative(truth, send, video, track, moss, losses, rtts, jbs, limited) -> dict[str, Any]:
    cum: dict[str, Any] = {
        "quality_mos": _dist(moss),
        "packet_loss": _fractions(losses, (5, 10, 25, 50), ""),
    }
    if send:
        cum["rtt"] = _fractions(rtts, (100, 250, 500), "ms")
    else:
        cum["jitter_buffer_delay"] = _fractions(jbs, (100, 250, 500), "ms")
    if video:
        fps = [v for v in track.get("fps", []) if v is not None]
        heights = [v for v in track.get("height", []) if v is not None]
        cum["frame_per_second"] = _dist(fps)
        cum["frame_width"] = _dist([v for v in track.get("width", []) if v is not None])
        poor = sum(h < 360 for h in heights) / len(heights) if heights else 0.0
        if send:
            total = sum(limited.values()) or 1
            cum["issues"] = {
                "cpu_quality_limitation_fraction": round(limited.get("cpu", 0) / total, 4),
                "bandwidth_quality_limitation_fraction": round(
                    limited.get("bandwidth", 0) / total, 4
                ),
                "quality_limitation_fraction": round(
                    (total - limited.get("none", 0)) / total if limited else 0.0, 4
                ),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": round(poor, 4),
            }
        else:
            lag = sum(f < 15 for f in fps) / len(fps) if fps else 0.0
            cum["issues"] = {
                "lag_fraction": round(lag, 4),
                "no_video_fraction": 0.0,
                "poor_resolution_fraction": round(poor, 4),
            }
    return _clean(cum)


def _metadata(truth: CallTruth) -> dict[str, Any]:
    p = truth.profile
    meta: dict[str, Any] = {
        "device_info": _clean(
            {"cpus": p.cpus, "is_mobile": p.is_mobile, "os": p.os, "os_version": p.os_version}
        ),
        "browser_metadata": _clean(
            {
                "browser": p.browser,
                "browser_version": p.browser_version,
                "engine": ENGINES.get(p.browser or ""),
                "user_agent": None
                if truth.sparse
                else f"Mozilla/5.0 ({p.os} {p.os_version}) {p.browser}/{p.browser_version}",
                "webgl_support": None if truth.sparse else True,
            }
        ),
        "ip_information": _clean(
            {
                "asn": _clean({"asn": p.asn, "name": p.org}) if p.asn else None,
                "city": p.city,
                "region": p.region,
                "country": p.country,
                "org": p.org,
                "ipv4": p.ip,
                "timezone": None if truth.sparse else "UTC",
            }
        ),
        "sdk_name": p.sdk_name,
        "sdk_version": p.sdk_version,
        "sdk_type": "web",
        "room_view_type": "groupCall",
        "events": [],
        "selected_device_updates": [],
    }
    if not truth.sparse:
        meta["pc_metadata"] = [
            _clean(
                {
                    "effective_network_type": p.network_type,
                    "reflexive_connectivity": True,
                    "relay_connectivity": True,
                    "turn_connectivity": True,
                    "timestamp": _iso(truth.start),
                }
            )
        ]
        meta["candidate_pairs"] = {
            "producing_transport": _pairs(truth, producing=True),
            "consuming_transport": _pairs(truth, producing=False),
        }
    for offset, kind, text in truth.events:
        at = _iso(truth.start + timedelta(seconds=offset))
        if kind == "reconnect":
            meta["events"].append(
                {"name": "ice_restart", "timestamp": at, "metadata": {"reason": text}}
            )
        elif kind == "device_change" and (m := DEVICE_TEXT.match(text)):
            device = {"device_id": truth.token(text, 16), "kind": DEVICE_KINDS[m[1]], "label": m[2]}
            meta["selected_device_updates"].append({"device": device, "timestamp": at})
    return _clean(meta)


def _pairs(truth: CallTruth, producing: bool) -> list[dict[str, Any]]:
    p = truth.profile
    rtts = [v for track in truth.tracks.values() for v in track.get("rtt_ms", []) if v is not None]
    rtt = sum(rtts) / len(rtts) / 1000 if rtts else 0.05
    kbps = [
        v
        for (_media, direction), track in truth.tracks.items()
        if direction == (SEND if producing else RECEIVE)
        for v in track.get("bitrate_kbps", [])
        if v is not None
    ]
    headroom = (max(kbps) * 1.5 if kbps else 2000) * 1000
    local = "relay" if p.relayed else "srflx"
    url = f"turn:turn.cloudflare.com:3478?transport={p.transport}" if p.relayed else None
    chosen = _clean(
        {
            "nominated": True,
            "local_candidate_type": local,
            "local_candidate_protocol": p.transport,
            "local_candidate_network_type": p.network_type,
            "local_candidate_address": p.ip,
            "local_candidate_url": url,
            "remote_candidate_type": "host",
            "remote_candidate_protocol": p.transport,
            "current_round_trip_time": round(rtt, 4),
            "available_outgoing_bitrate": round(headroom) if producing else None,
            "available_incoming_bitrate": None if producing else round(headroom),
        }
    )
    # A second, unused pair as a real ICE agent leaves behind: the client must pick the
    # nominated one.
    unused = {
        "nominated": False,
        "local_candidate_type": "host",
        "local_candidate_protocol": "udp",
        "remote_candidate_type": "host",
        "remote_candidate_protocol": "udp",
        "current_round_trip_time": 0.001,
    }
    return [unused, chosen]


EMULATOR = CloudflareEmulator
