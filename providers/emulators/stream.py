"""Stream Video emulator: the sandbox calls in Stream's own JSON shapes, with Stream's auth,
limits and errors, so the real `providers.stream` client runs against it.

Each `CallTruth` becomes call `default:<key>` with one call session; the participant published
the truth's SEND tracks. One scenario (`REJOIN`) has the same user twice in that session, so the
short command form is ambiguous there. Timestamps vary by scenario (ms, ns, s, ISO) like the
API's undocumented units might.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

import jwt

from providers.emulators import webhooks as hooks
from providers.emulators.webhooks import Delivery
from providers.sandbox import Emulator, Recorded, Reply
from providers.scenarios import RECEIVE, SEND, VIDEO, CallTruth

API_KEY = "sandbox-stream-key"
API_SECRET = "sandbox-stream-secret-0123456789abcdef"  # sandbox only, never a real secret
PREFIX = "/api/v2/video/call/"
STATS_PREFIX = "/api/v2/video/call_stats/"
DEFAULT_WINDOW = timedelta(minutes=1)  # the API's answer without since/until
MAX_WINDOW = timedelta(minutes=30)
REJOIN = "turn-tcp"  # the scenario whose user joined the call session twice
# How each scenario writes data point timestamps (and joined_at), to exercise the parser.
UNITS = {"cpu-limited": "ns", "turn-tcp": "s", "sparse": "iso"}  # the rest: ms
JOINED_UNITS = {"sparse": "iso", "turn-tcp": "iso"}  # the rest: ns, as the SDKs decode
KBPS = {"receive-loss"}  # bitrate in kbps here, bit/s elsewhere
SESSION_ONLY_ID = {"sparse"}  # the call answer carries current_session_id but no session


def encode_time(t: float, unit: str) -> Any:
    whole = int(t // 1)
    frac_ns = round((t - whole) * 1e9)
    if unit == "s":
        return float(t)
    if unit == "ms":
        return whole * 1000 + frac_ns // 1_000_000
    if unit == "ns":
        return whole * 1_000_000_000 + frac_ns
    stamp = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac_ns:09d}Z"  # RFC 3339 with nanoseconds, as Go writes it


def api_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "StatusCode": status,
        "duration": "0.01ms",
        "more_info": "https://getstream.io/chat/docs/api_errors_response",
        "details": [],
    }


def _instant(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class StreamEmulator(Emulator):
    provider: ClassVar[str] = "stream"
    base_url_env: ClassVar[str] = "STREAM_BASE_URL"
    base_path: ClassVar[str] = ""

    def __init__(self, calls: list[CallTruth] | None = None):
        super().__init__(calls)
        self.page_size: int | None = None  # tests: force attendance paging below `limit`
        self.summaries = True  # tests: False answers the session stats endpoint with 404
        self.rate_limit = 1000
        self._remaining = self.rate_limit
        self._cache: dict[str, dict[str, Any]] = {}
        self._state_lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        """Forget requests, faults and test knobs (a server shared by several tests)."""
        with self._state_lock:
            self.requests.clear()
            self.faults.clear()
            self._cache.clear()
            self.page_size = None
            self.summaries = True
            self.delay_s = 0.0
            self.max_in_flight = 0
            self._remaining = self.rate_limit

    # --- the Emulator seams ----------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        return {"STREAM_API_KEY": API_KEY, "STREAM_API_SECRET": API_SECRET}

    def demo_lookups(self) -> list[tuple[list[str], CallTruth]]:
        out = []
        for truth in self.calls:
            call = f"default:{truth.key}"
            if truth.key == REJOIN:
                words = [
                    "stream",
                    call,
                    truth.uuid("stream-session"),
                    truth.profile.user_id,
                    truth.uuid("stream-user-session"),
                ]
            else:
                words = ["stream", call, truth.profile.user_id]
            out.append((words, truth))
        return out

    def webhook(self, key: str = "turn-tcp", compress: bool = False) -> Delivery:
        truth = next(t for t in self.calls if t.key == key)
        event = hooks.stream_event(f"default:{truth.key}", truth.uuid("stream-session"))
        return hooks.stream(API_SECRET, event, compress=compress)

    def handle(self, req: Recorded) -> Reply:
        # Counts concurrent requests so tests can check the client's parallelism bound.
        with self._state_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return super().handle(req)
        finally:
            with self._state_lock:
                self._in_flight -= 1

    def route(self, req: Recorded) -> Reply:
        status, body = self._route(req)
        return status, self._rate_headers(), body

    # --- rendering -------------------------------------------------------------------------------

    def rendered(self, truth: CallTruth) -> dict[str, Any]:
        """Everything the API says about one call, built once per truth."""
        with self._state_lock:
            if truth.key not in self._cache:
                self._cache[truth.key] = self._render(truth)
            return self._cache[truth.key]

    def _render(self, truth: CallTruth) -> dict[str, Any]:
        unit = UNITS.get(truth.key, "ms")
        joined_unit = JOINED_UNITS.get(truth.key, "ns")
        user = truth.profile.user_id
        main = truth.uuid("stream-user-session")
        start, end = truth.start.timestamp(), truth.end.timestamp()
        sessions = {
            main: self._attendee(user, main, start, end, joined_unit, ["user"]),
        }
        metrics = {main: self._metrics(truth, main, unit, joined_unit)}
        if truth.key == REJOIN:
            early = truth.uuid("stream-user-session-dropped")
            sessions[early] = self._attendee(
                user, early, start - 240, start - 60, joined_unit, ["user"]
            )
            metrics[early] = {
                "user_id": user,
                "user_session_id": early,
                "joined_at": encode_time(start - 240, joined_unit),
                "published_tracks": [],
            }
        host = truth.uuid("stream-host-session")
        sessions[host] = self._attendee("user-host", host, start - 30, end + 30, "ns", ["host"])
        metrics[host] = {"user_id": "user-host", "user_session_id": host, "published_tracks": []}
        bounds = {main: (start, end), host: (start - 30, end + 30)}
        if truth.key == REJOIN:
            bounds[early] = (start - 240, start - 60)
        return {
            "session_id": truth.uuid("stream-session"),
            "bounds": bounds,
            "start": start - 30,
            "end": end + 30,
            "sessions": sessions,
            "metrics": metrics,
        }

    @staticmethod
    def _attendee(
        user: str, user_session: str, joined: float, left: float, unit: str, roles: list[str]
    ) -> dict[str, Any]:
        return {
            "user_id": user,
            "user_session_id": user_session,
            "publisher_type": "webrtc",
            "roles": roles,
            "joined_at": encode_time(joined, unit),
            "left_at": encode_time(left, unit),
            "duration_in_seconds": int(left - joined),
        }

    def _metrics(self, truth: CallTruth, user_session: str, unit: str, joined_unit: str) -> dict:
        p = truth.profile
        client: dict[str, Any] = {"name": p.browser or p.sdk_name, "ip": p.ip}
        if not truth.sparse:
            client["version"] = p.browser_version or p.sdk_version
            client["network_type"] = p.network_type
            client["location"] = {
                "city": p.city,
                "subdivision": p.region,
                "country_iso_code": p.country,
                "continent": "Europe" if p.country in ("DE", "PT", "FI") else None,
                "accuracy_radius_meters": 20,
            }
        times = truth.times()
        nulls = truth.sparse  # sparse data also carries [t, null] points
        tracks = []
        for (media, direction), values in sorted(truth.tracks.items()):
            if direction == RECEIVE:
                continue  # Stream shows only what the participant published
            assert direction == SEND
            kbps = truth.key in KBPS
            track: dict[str, Any] = {
                "track_id": truth.token(f"stream-track-{media}", 16),
                "track_type": media,
                "codec": "opus" if media != VIDEO else "VP8",
                "bitrate": self._points(
                    times, values.get("bitrate_kbps"), 1 if kbps else 1000, nulls
                ),
                "warnings": [],
            }
            if media == VIDEO:
                track["framerate"] = self._points(times, values.get("fps"), 1, nulls)
                track["resolution"] = {
                    "width": self._points(times, values.get("width"), 1),
                    "height": self._points(times, values.get("height"), 1),
                }
                cpu = [i for i, why in enumerate(truth.limitation) if why == "cpu"]
                if cpu:
                    track["warnings"].append(
                        {
                            "time": encode_time(times[cpu[0]], "ns"),
                            "code": "QUALITY_LIMITED_BY_CPU",
                            "warning": "Video quality is limited by the CPU",
                        }
                    )
            for offset, on, code, text in truth.warnings:
                if on == media:
                    stamp = encode_time(times[0] + offset, "ns")
                    track["warnings"].append({"time": stamp, "code": code, "warning": text})
            tracks.append(track)
        return {
            "user_id": p.user_id,
            "user_session_id": user_session,
            "publisher_type": "webrtc",
            "joined_at": encode_time(truth.start.timestamp(), joined_unit),
            "is_publisher": not truth.no_stats,
            "is_subscriber": True,
            "client": client,
            "published_tracks": tracks,
            "_unit": unit,
        }

    @staticmethod
    def _points(
        times: list[float], values: list | None, scale: float, nulls: bool = False
    ) -> list[tuple[float, Any]]:
        # Kept as (unix seconds, value) here; encoded per request in the scenario's unit.
        out: list[tuple[float, Any]] = []
        for t, v in zip(times, values or [], strict=False):
            if v is None:
                if nulls:
                    out.append((t, None))
                continue
            out.append((t, round(v * scale, 2) if scale == 1 else int(v * scale)))
        return out

    # --- serving ---------------------------------------------------------------------------------

    def _rate_headers(self) -> dict[str, str]:
        with self._state_lock:
            self._remaining = max(0, self._remaining - 1)
            remaining = self._remaining
        reset = (int(time.time()) // 60 + 1) * 60
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    def _auth(self, req: Recorded) -> tuple[int, dict] | None:
        if req.param("api_key") != API_KEY:
            return api_error(401, 4, "api_key not valid or missing")
        if (req.headers.get("stream-auth-type") or "").lower() != "jwt":
            return api_error(401, 5, "Stream-Auth-Type header must be jwt")
        token = req.headers.get("authorization") or ""
        try:
            jwt.decode(token, API_SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return api_error(
                401,
                5,
                "JWTAuth error: token signature is invalid (the token goes without a prefix)",
            )
        return None

    def _route(self, req: Recorded) -> tuple[int, Any]:
        if req.method != "GET":
            return api_error(405, 4, "method not allowed")
        denied = self._auth(req)
        if denied:
            return denied
        if req.path.startswith(STATS_PREFIX):
            return self._session_stats(req)
        if not req.path.startswith(PREFIX):
            return api_error(404, 16, "route not found")
        parts = [unquote(p) for p in req.path[len(PREFIX) :].split("/")]
        truth = self._truth(parts[0], parts[1]) if len(parts) >= 2 else None
        if truth is None:
            return api_error(404, 16, f"Can't find call with id {'/'.join(parts[:2])}")
        data = self.rendered(truth)
        if len(parts) == 2:
            return 200, self._call(truth, data)
        if len(parts) < 5 or parts[2] != "session" or parts[3] != data["session_id"]:
            return api_error(404, 16, "call session not found")
        if parts[4:] == ["participant_sessions"]:
            return self._attendance(req, truth, data)
        if len(parts) == 9 and parts[4] == "participant" and parts[7:] == ["details", "track"]:
            return self._track_metrics(req, data, parts[5], parts[6])
        return api_error(404, 16, "route not found")

    def _truth(self, call_type: str, call_id: str) -> CallTruth | None:
        if call_type != "default":
            return None
        return next((t for t in self.calls if t.key == call_id), None)

    def _call(self, truth: CallTruth, data: dict[str, Any]) -> dict[str, Any]:
        call: dict[str, Any] = {
            "type": "default",
            "id": truth.key,
            "cid": f"default:{truth.key}",
            "current_session_id": data["session_id"],
            "created_at": encode_time(data["start"] - 60, "iso"),
        }
        if truth.key not in SESSION_ONLY_ID:
            call["session"] = {
                "id": data["session_id"],
                "started_at": encode_time(data["start"], "iso"),
                "ended_at": encode_time(data["end"], "iso"),
                "participants": [],
            }
        return {"call": call, "members": [], "duration": "0.42ms"}

    def _attendance(self, req: Recorded, truth: CallTruth, data: dict) -> tuple[int, Any]:
        try:
            limit = int(req.param("limit") or 25)
            filters = json.loads(req.param("filter_conditions") or "{}")
            offset = int((req.param("next") or "page-0").removeprefix("page-"))
        except ValueError:
            return api_error(400, 4, "QueryCallParticipantSessions failed: invalid parameters")
        if not 0 < limit <= 100 or not isinstance(filters, dict):
            return api_error(400, 4, "limit must be between 1 and 100")
        rows = list(data["sessions"].values())
        for key, cond in filters.items():
            if key not in ("user_id", "session_id") or not isinstance(cond, dict):
                return api_error(400, 4, f"filter on field {key!r} is not supported")
            field = "user_session_id" if key == "session_id" else key
            allowed = [cond["$eq"]] if "$eq" in cond else cond.get("$in", [])
            rows = [r for r in rows if r[field] in allowed]
        size = min(limit, self.page_size or limit)
        page = rows[offset : offset + size]
        body: dict[str, Any] = {
            "call_type": "default",
            "call_id": truth.key,
            "call_session_id": data["session_id"],
            "duration": 3,
            "total_participant_sessions": len(data["sessions"]),
            "total_participant_duration": sum(
                r["duration_in_seconds"] for r in data["sessions"].values()
            ),
            "participants_sessions": page,
        }
        if offset + size < len(rows):
            body["next"] = f"page-{offset + size}"
        return 200, body

    def _session_stats(self, req: Recorded) -> tuple[int, Any]:
        """QueryCallSessionParticipantStats: every participant session's summary."""
        parts = [unquote(p) for p in req.path[len(STATS_PREFIX) :].split("/")]
        if len(parts) != 4 or parts[3] != "participants" or not self.summaries:
            return api_error(404, 16, "route not found")
        truth = self._truth(parts[0], parts[1])
        data = self.rendered(truth) if truth is not None else None
        if truth is None or data is None or parts[2] != data["session_id"]:
            return api_error(404, 16, "call session stats not found")
        users: dict[str, dict[str, Any]] = {}
        main = truth.uuid("stream-user-session")
        for user_session, row in data["sessions"].items():
            user = users.setdefault(
                row["user_id"],
                {"user_id": row["user_id"], "name": None, "roles": row["roles"], "sessions": []},
            )
            entry = {
                "user_session_id": user_session,
                "started_at": encode_time(data["bounds"][user_session][0], "iso"),
                "ended_at": encode_time(data["bounds"][user_session][1], "iso"),
                "is_live": False,
                "publisher_type": "webrtc",
                "published_tracks": {},
            }
            if user_session == main:
                user["name"] = truth.profile.name
                entry |= _summary(truth)
            user["sessions"].append(entry)
        body = {
            "call_type": "default",
            "call_id": truth.key,
            "call_session_id": data["session_id"],
            "participants": list(users.values()),
            "counts": {"participants": len(users), "sessions": len(data["sessions"])},
            "duration": "2.1ms",
        }
        return 200, body

    def _track_metrics(self, req: Recorded, data: dict, user: str, user_session: str):
        raw = data["metrics"].get(user_session)
        if raw is None or raw["user_id"] != user:
            return api_error(404, 16, f"participant session {user_session} not found")
        since_s, until_s = req.param("since"), req.param("until")
        if since_s is None and until_s is None:
            until = data["bounds"][user_session][1]
            since = until - DEFAULT_WINDOW.total_seconds()
        elif since_s is None or until_s is None:
            return api_error(400, 4, "since and until must be given together")
        else:
            since, until = _instant(since_s), _instant(until_s)  # type: ignore[assignment]
            if since is None or until is None:
                return api_error(400, 4, "since and until must be date-times")
            if until <= since:
                return api_error(400, 4, "until must be after since")
            if until - since > MAX_WINDOW.total_seconds():
                return api_error(400, 4, "the time window can't be longer than 30 minutes")
        unit = raw.get("_unit", "ms")
        tracks = []
        for track in raw["published_tracks"]:
            out = {
                k: v for k, v in track.items() if k not in ("bitrate", "framerate", "resolution")
            }
            out["bitrate"] = self._window(track["bitrate"], since, until, unit)
            if "framerate" in track:
                out["framerate"] = self._window(track["framerate"], since, until, unit)
                out["resolution"] = {
                    k: self._window(v, since, until, unit) for k, v in track["resolution"].items()
                }
            tracks.append(out)
        body = {k: v for k, v in raw.items() if k != "_unit"}
        body["published_tracks"] = tracks
        body["duration"] = "1.87ms"
        return 200, body

    @staticmethod
    def _window(points: list, since: float, until: float, unit: str) -> dict[str, list]:
        return {"data_points": [[encode_time(t, unit), v] for t, v in points if since <= t < until]}


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _summary(truth: CallTruth) -> dict[str, Any]:
    """The figures Stream's session summary gives one participant session."""
    if truth.no_stats:
        return {}
    p = truth.profile
    jitter = _mean((truth.tracks.get(("audio", RECEIVE)) or {}).get("jitter_ms") or [])
    latency = _mean((truth.tracks.get(("audio", SEND)) or {}).get("rtt_ms") or [])
    fps = (truth.tracks.get((VIDEO, RECEIVE)) or {}).get("fps") or []
    frozen = sum(truth.interval_s for v in fps if v is not None and v < 1.0)
    out: dict[str, Any] = {
        "browser": p.browser,
        "browser_version": p.browser_version,
        "os": p.os,
        "sdk": p.sdk_name,
        "sdk_version": p.sdk_version,
        "current_ip": p.ip,
        "location": {"city": p.city, "subdivision": p.region, "country_iso_code": p.country},
        "freezes_duration_ms": int(frozen * 1000),
    }
    if jitter is not None:
        out["jitter_ms"] = round(jitter)
    if latency is not None:
        out["latency_ms"] = round(latency)
    if jitter is not None or latency is not None:
        penalty = max(0.0, (jitter or 0) - 10) * 2 + max(0.0, (latency or 0) - 150) / 5
        out["cq_score"] = max(0, min(100, round(100 - penalty)))
    return out


EMULATOR = StreamEmulator
