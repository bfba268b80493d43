"""Which verified events start a grading, and of what.

- Cloudflare RealtimeKit: `meeting.ended` and `meeting.participantLeft` -> the meeting's
  session (`meeting.sessionId`); delivery id header `rtk-uuid`.
- VideoSDK: `session-ended` and `participant-left` -> `data.sessionId` (no delivery id is
  documented: the body hash is the id).
- Stream: `call.stats_report_ready` -> `call_cid` and `session_id`; delivery id header
  `X-Webhook-Id`. The report is final when this arrives, so it is graded without a delay.

Every other event is acknowledged and ignored. `parse` raises `Stale` for an event whose own
time is older than the allowed age, or in the future beyond the clock skew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from providers.errors import InputError
from providers.ids import check_id, check_uuid

FUTURE_SKEW_S = 300.0
PROVIDER_WORDS = {"cloudflare": "cf", "cf": "cf", "videosdk": "videosdk", "stream": "stream"}
CF_EVENTS = ("meeting.ended", "meeting.participantLeft")
VIDEOSDK_EVENTS = ("session-ended", "participant-left")
STREAM_EVENTS = ("call.stats_report_ready",)


class Stale(Exception):
    """The delivery describes an event too old (or too far ahead) to act on."""


class Malformed(Exception):
    """A trigger event without the ids it needs."""


@dataclass(frozen=True)
class Trigger:
    provider: str
    event: str
    call_key: str  # one Slack message per call key
    words: tuple[str, ...]  # the session command that grades the call
    delayed: bool  # stats lag behind this event: wait before fetching
    dedupe_keys: tuple[str, ...]


def _when(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        return v / 1e9 if v > 1e17 else v / 1e3 if v > 1e11 else v
    if isinstance(value, str) and value:
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_age(at: float | None, now: float, max_age_s: float) -> None:
    if at is None:
        return
    if at < now - max_age_s:
        raise Stale(f"the event is older than {max_age_s:.0f} s")
    if at > now + FUTURE_SKEW_S:
        raise Stale("the event is dated in the future")


def body_key(provider: str, body: bytes) -> str:
    return f"webhook:{provider}:body:{hashlib.sha256(body).hexdigest()}"


def _keys(provider: str, body: bytes, delivery_id: str | None) -> tuple[str, ...]:
    keys = [body_key(provider, body)]
    if delivery_id:
        keys.insert(0, f"webhook:{provider}:id:{delivery_id[:200]}")
    return tuple(keys)


def parse(
    provider: str,
    event: Any,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    max_age_s: float,
) -> Trigger | None:
    """The trigger in a verified event, or None for an event we do not act on."""
    doc = _dict(event)
    try:
        if provider == "cf":
            return _cloudflare(doc, headers, body, now, max_age_s)
        if provider == "videosdk":
            return _videosdk(doc, body, now, max_age_s)
        if provider == "stream":
            return _stream(doc, headers, body, now, max_age_s)
    except InputError as exc:
        raise Malformed(str(exc)) from None
    return None


def _cloudflare(doc, headers, body, now, max_age_s) -> Trigger | None:
    name = doc.get("event")
    if name not in CF_EVENTS:
        return None
    meeting = _dict(doc.get("meeting"))
    participant = _dict(doc.get("participant"))
    at = (
        _when(meeting.get("endedAt"))
        if name == "meeting.ended"
        else _when(participant.get("leftAt"))
    )
    _check_age(at or _when(meeting.get("updatedAt")), now, max_age_s)
    sid = meeting.get("sessionId") or doc.get("sessionId")
    if not isinstance(sid, str):
        raise Malformed(f"`{name}` without `meeting.sessionId`")
    sid = check_uuid("session id", sid)
    return Trigger(
        "cf",
        name,
        f"cf:{sid}",
        ("cf", "session", sid),
        True,
        _keys("cf", body, headers.get("rtk-uuid")),
    )


def _videosdk(doc, body, now, max_age_s) -> Trigger | None:
    name = doc.get("webhookType") or doc.get("type")
    if name not in VIDEOSDK_EVENTS:
        return None
    data = _dict(doc.get("data"))
    _check_age(_when(data.get("end")) if name == "session-ended" else None, now, max_age_s)
    sid = data.get("sessionId")
    if not isinstance(sid, str):
        raise Malformed(f"`{name}` without `data.sessionId`")
    sid = check_id("VideoSDK session id", sid, 64)
    return Trigger(
        "videosdk",
        name,
        f"videosdk:{sid}",
        ("videosdk", "session", sid),
        True,
        _keys("videosdk", body, None),
    )


def _stream(doc, headers, body, now, max_age_s) -> Trigger | None:
    name = doc.get("type")
    if name not in STREAM_EVENTS:
        return None
    _check_age(_when(doc.get("created_at")), now, max_age_s)
    cid, session = doc.get("call_cid"), doc.get("session_id")
    if not isinstance(cid, str) or ":" not in cid or not isinstance(session, str):
        raise Malformed(f"`{name}` without `call_cid` and `session_id`")
    call_type, _, call_id = cid.partition(":")
    call = f"{check_id('call type', call_type, 64)}:{check_id('call id', call_id, 64)}"
    session = check_id("call session id", session, 64)
    return Trigger(
        "stream",
        name,
        f"stream:{call}:{session}",
        ("stream", "session", call, session),
        False,
        _keys("stream", body, headers.get("x-webhook-id")),
    )
