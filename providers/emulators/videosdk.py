"""Loopback emulator of the VideoSDK v2 REST API (participant stats and participant lists).

Every sandbox call is its own session with one participant; `SHARED_SESSION` holds all of
them at once, so a listing has several rows (and pages, with a small `perPage`). Units follow
the choices documented in `providers.videosdk_raw`: loss in percent, RTT and jitter in ms,
bitrate in bit/s. `packet_totals` adds the packets received / sent in each interval beside the
loss (`*TotalPackets`), and `loss_counts` sends the loss as packet counts of those totals.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import jwt

from providers.emulators import webhooks as hooks
from providers.emulators.webhooks import Delivery
from providers.sandbox import Emulator, Recorded, Reply
from providers.scenarios import AUDIO, RECEIVE, SEND, VIDEO, CallTruth

API_KEY = "sandbox-videosdk-api-key"
# HS256 wants at least 32 bytes of key; real VideoSDK secrets are 64 hex characters.
SECRET = "sandbox-videosdk-secret-0123456789abcdef0123456789abcdef"
SHARED_SESSION = "5a4db0c5a4db0c5a4db0c5a4"
PARTICIPANT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
BUCKETS = (180, 360, 720, 1080, 1440, 2160)
KEY_PATH = "/v2/public/rsa-public-key"


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_id(truth: CallTruth) -> str:
    return truth.token("vs-session", 24)


def participant_id(truth: CallTruth) -> str:
    return truth.token("vs-participant", 8, PARTICIPANT_ALPHABET)


def room_id(truth: CallTruth) -> str:
    raw = truth.token("vs-room", 12, PARTICIPANT_ALPHABET)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _at(track: dict[str, list[float | None]], metric: str, i: int) -> float | None:
    values = track.get(metric)
    return values[i] if values is not None and i < len(values) else None


def _score(loss: float | None, jitter: float | None, rtt: float | None, penalty: float = 0.0):
    """A 1-4.5 experience score that falls with loss, jitter and delay, like VideoSDK's."""
    if loss is None and jitter is None and rtt is None:
        return None
    score = 4.5 - penalty
    score -= 0.25 * (loss or 0.0)
    score -= 0.02 * max(0.0, (jitter or 0.0) - 10)
    score -= 0.003 * max(0.0, (rtt or 0.0) - 150)
    return round(min(4.5, max(1.0, score)), 2)


class VideoSDKEmulator(Emulator):
    provider = "videosdk"
    base_url_env = "VIDEOSDK_BASE_URL"
    base_path = ""

    def __init__(self, calls: list[CallTruth] | None = None):
        super().__init__(calls)
        self.participants_as_array = False  # answer listings with `data` as an array (tests)
        self.packet_totals = False  # send each interval's packet totals beside the loss
        self.loss_counts = False  # send the loss as packet counts of those totals
        self._stats: dict[str, dict[str, Any]] = {}
        self._render_lock = threading.Lock()

    def credentials(self) -> dict[str, str]:
        return {"VIDEOSDK_API_KEY": API_KEY, "VIDEOSDK_SECRET_KEY": SECRET}

    def demo_lookups(self) -> list[tuple[list[str], CallTruth]]:
        return [(["videosdk", session_id(t), participant_id(t)], t) for t in self.calls]

    # --- routing -------------------------------------------------------------------------------
    def webhook(self, session_id: str | None = None, name: str = "session-ended") -> Delivery:
        return hooks.videosdk(self.signer, hooks.videosdk_event(session_id or SHARED_SESSION, name))

    def route(self, req: Recorded) -> Reply:
        if req.path == KEY_PATH:  # public, like the real one
            return 200, {}, {"publicKey": self.signer.public_pem()}
        refused = self._check_token(req.headers.get("authorization"))
        if refused:
            return 401, {}, {"statusCode": 401, "error": "Unauthorized", "message": refused}
        parts = [unquote(p) for p in req.path.strip("/").split("/")]
        stats_route = parts[:2] == ["v2", "sessions"] and parts[3:4] == ["participant"]
        if len(parts) == 6 and stats_route and parts[5] == "stats":
            return self._participant_stats(parts[2], parts[4])
        if len(parts) == 4 and parts[:2] == ["v2", "sessions"] and parts[3] == "participants":
            return self._participants(parts[2], req)
        return 404, {}, {"message": "Route not found."}

    def _check_token(self, token: str | None) -> str | None:
        """Why the token is refused, or None when it is good."""
        if not token:
            return "Authorization token is missing."
        try:
            claims = jwt.decode(
                token, SECRET, algorithms=["HS256"], options={"require": ["exp", "iat"]}
            )
        except jwt.ExpiredSignatureError:
            return "Token expired."
        except jwt.InvalidTokenError:
            return "Invalid token."
        if claims.get("apikey") != API_KEY:
            return "Invalid apikey."
        if claims.get("version") != 2:
            return "Token version 2 is required for v2 APIs."
        roles = claims.get("roles")
        if not isinstance(roles, list) or "crawler" not in roles:
            return "Token role `crawler` is required for server APIs."
        return None

    def _find(self, sid: str, pid: str) -> CallTruth | None:
        for truth in self.calls:
            if participant_id(truth) == pid and sid in (session_id(truth), SHARED_SESSION):
                return truth
        return None

    def _participant_stats(self, sid: str, pid: str) -> Reply:
        truth = self._find(sid, pid)
        if truth is None:
            return 404, {}, {"message": "Participant not found in this session."}
        with self._render_lock:
            if truth.key not in self._stats:
                self._stats[truth.key] = self.render_stats(truth)
            body = self._stats[truth.key]
        return 200, {}, {**body, "sessionId": sid}

    def _participants(self, sid: str, req: Recorded) -> Reply:
        if sid == SHARED_SESSION:
            truths = list(self.calls)
        else:
            truths = [t for t in self.calls if session_id(t) == sid]
        if not truths:
            return 404, {}, {"message": "Session not found."}
        try:
            page = max(1, int(req.param("page") or 1))
            per_page = min(100, max(1, int(req.param("perPage") or 20)))
        except ValueError:
            return 400, {}, {"message": "page and perPage must be numbers."}
        last = max(1, -(-len(truths) // per_page))
        chunk = truths[(page - 1) * per_page : page * per_page]
        session = {
            "id": sid,
            "roomId": room_id(truths[0]),
            "participants": [self.render_participant(t) for t in chunk],
            "links": {
                "get_room": f"/v2/rooms/{room_id(truths[0])}",
                "get_session": f"/v2/sessions/{sid}",
            },
        }
        info = {"currentPage": page, "perPage": per_page, "lastPage": last, "total": len(truths)}
        return (
            200,
            {},
            {"pageInfo": info, "data": [session] if self.participants_as_array else session},
        )

    # --- rendering -----------------------------------------------------------------------------
    def render_participant(self, truth: CallTruth) -> dict[str, Any]:
        # A reconnect splits the timelog in two, as a rejoin does in VideoSDK's session logs.
        cuts = sorted(off for off, kind, _ in truth.events if kind == "reconnect")
        spans, start = [], 0.0
        for off in cuts:
            spans.append((start, off))
            start = off + 2.0
        spans.append((start, truth.duration_s))
        return {
            "participantId": participant_id(truth),
            "name": truth.profile.name,
            "timelog": [
                {
                    "start": iso(truth.start + timedelta(seconds=a)),
                    "end": iso(truth.start + timedelta(seconds=b)),
                }
                for a, b in spans
            ],
        }

    def render_stats(self, truth: CallTruth) -> dict[str, Any]:
        p = truth.profile
        unknown = "unknown"
        body: dict[str, Any] = {
            "sessionId": session_id(truth),
            "meetingId": room_id(truth),
            "participantId": participant_id(truth),
            "participantName": p.name,
            "deviceInfo": {
                "deviceName": p.browser or p.device or unknown,
                "deviceVersion": (p.browser_version if p.browser else p.os_version) or unknown,
            },
            "location": {
                "country": p.country or unknown,
                "city": p.city or unknown,
                "region": p.region or unknown,
            },
            "network": {"asn": p.asn or unknown, "org": p.org or unknown},
            "stats": [],
            "resolutionUsage": [],
        }
        if not truth.sparse:  # sparse calls lack the optional sdkInfo block altogether
            body["sdkInfo"] = {"sdkName": p.sdk_name or unknown, "sdkVersion": p.sdk_version}
        if truth.no_stats:
            return body
        times = [truth.start + timedelta(seconds=i * truth.interval_s) for i in range(truth.n)]
        for i, when in enumerate(times):
            body["stats"].append(self._sample(truth, i, when))
            usage = self._usage(truth, i, when)
            if usage:
                body["resolutionUsage"].append(usage)
        return body

    def _sample(self, truth: CallTruth, i: int, when: datetime) -> dict[str, Any]:
        entry: dict[str, Any] = {"time": iso(when)}
        scores: dict[str, float | None] = {}
        for media, word in ((AUDIO, "Audio"), (VIDEO, "Video")):
            send = truth.tracks.get((media, SEND), {})
            recv = truth.tracks.get((media, RECEIVE), {})
            rtt = _at(send, "rtt_ms", i)
            if rtt is None:
                rtt = _at(recv, "rtt_ms", i)
            send_kbps, recv_kbps = _at(send, "bitrate_kbps", i), _at(recv, "bitrate_kbps", i)
            fields = {
                **self._loss(truth, "recv", word, recv, i),
                **self._loss(truth, "send", word, send, i),
                f"average{word}Rtt": rtt,
                f"average{word}Jitter": _at(recv, "jitter_ms", i),
                f"averageSend{word}Bitrate": None if send_kbps is None else round(send_kbps * 1000),
                f"averageRecv{word}Bitrate": None if recv_kbps is None else round(recv_kbps * 1000),
            }
            for key, value in fields.items():
                if value is None and i % 2 == 0:
                    continue  # absent on even samples, null on odd ones: clients see both
                entry[key] = round(value, 3) if isinstance(value, float) else value
            height = _at(recv, "height", i)
            penalty = 0.6 if media == VIDEO and height is not None and height < 720 else 0.0
            scores[media] = _score(
                _at(recv, "loss_pct", i), _at(recv, "jitter_ms", i), rtt, penalty
            )
        entry["qualityScore"] = {"audio": scores[AUDIO], "video": scores[VIDEO]}
        return entry

    def _loss(self, truth: CallTruth, side: str, word: str, track: dict, i: int) -> dict:
        loss = _at(track, "loss_pct", i)
        if not (self.packet_totals or self.loss_counts):
            return {f"{side}{word}PacketLost": loss}
        kbps = _at(track, "bitrate_kbps", i)
        rate = (kbps or 0) * 1000 / 8 / 1100 if word == "Video" else 50  # packets per second
        packets = round(rate * truth.interval_s)
        lost = None if loss is None else round(packets * loss / 100)
        # Received packets leave the lost ones out; sent packets include them.
        total = packets - (lost or 0) if side == "recv" else packets
        if self.loss_counts:
            value = lost
        else:
            value = None if lost is None or not packets else round(100 * lost / packets, 2)
        return {f"{side}{word}PacketLost": value, f"{side}{word}TotalPackets": total}

    def _usage(self, truth: CallTruth, i: int, when: datetime) -> dict[str, Any] | None:
        height = _at(truth.tracks.get((VIDEO, RECEIVE), {}), "height", i)
        if height is None:
            return None
        bucket = next((b for b in BUCKETS if height <= b), BUCKETS[-1])
        # Stamped a moment after the stats sample, as in VideoSDK's own example.
        out: dict[str, Any] = {str(b): int(b == bucket) for b in BUCKETS}
        out["time"] = iso(when + timedelta(milliseconds=250))
        return out


EMULATOR = VideoSDKEmulator
