"""Stream's session participant stats: one summary per participant session, cheap to grade.

`GET /api/v2/video/call_stats/{type}/{id}/{session}/participants` answers for a whole call
session at once with each participant session's call quality score, average jitter and
latency and total freeze time (final once `call.stats_report_ready` has been sent). Each
becomes a Report with those averages as provider summaries (no samples over time), so a
session overview grades everyone from one request; the full lookup grades the published
tracks over time instead and can differ. The unit of `jitter_ms` and `latency_ms` is taken
from their names (milliseconds); whether latency is one-way or a round trip is not documented,
and it is graded as a round-trip time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from providers.models import Client, Direction, Media, Network, Participant, Report, Summary
from providers.stream_normalize import Location
from providers.stream_windows import to_datetime

MISSING = [
    "packet loss",
    "frame rate, resolution and bitrate over time (Stream's session summary has averages only)",
]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SummarySession(_Raw):
    user_session_id: str | None = None
    started_at: Any = None
    ended_at: Any = None
    publisher_type: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    sdk: str | None = None
    sdk_version: str | None = None
    location: Location | None = None
    cq_score: float | None = None
    jitter_ms: float | None = None
    latency_ms: float | None = None
    freezes_duration_ms: float | None = None


class SummaryParticipant(_Raw):
    user_id: str | None = None
    name: str | None = None
    sessions: list[SummarySession] | None = None


class SummaryPage(_Raw):
    participants: list[SummaryParticipant] | None = None
    next: str | None = None


def report(user: SummaryParticipant, s: SummarySession, ids: dict[str, str]) -> Report:
    """One participant session's summary as a Report (the IP address is not read)."""
    loc = s.location or Location()
    # Jitter is what arrived (receive); latency belongs to the path, graded as a round trip.
    figures = (
        (Direction.RECEIVE, "jitter_avg_ms", s.jitter_ms),
        (Direction.SEND, "rtt_avg_ms", s.latency_ms),
    )
    summaries = [
        Summary(media=Media.CONNECTION, direction=side, values={key: float(value)})
        for side, key, value in figures
        if value is not None
    ]
    notes = []
    if s.cq_score is not None:
        notes.append(f"Stream's call quality score for this session: {s.cq_score:g}.")
    if s.freezes_duration_ms:
        notes.append(
            f"Video froze for {s.freezes_duration_ms / 1000:.1f} s in total (Stream's summary)."
        )
    return Report(
        provider="stream",
        ids={**ids, "user_id": user.user_id or "", "user_session_id": s.user_session_id or ""},
        participant=Participant(
            id=s.user_session_id,
            display_name=user.name,
            user_id=user.user_id,
            joined_at=to_datetime(s.started_at),
            left_at=to_datetime(s.ended_at),
        ),
        client=Client(
            browser=s.browser,
            browser_version=s.browser_version,
            os=s.os,
            sdk_name=s.sdk,
            sdk_version=s.sdk_version,
        ),
        network=Network(
            city=loc.city, region=loc.subdivision, country=loc.country_iso_code or loc.country
        ),
        summaries=summaries,
        missing=list(MISSING) if summaries else [],
        notes=notes,
    )


def reports(pages: list[SummaryPage], ids: dict[str, str]) -> dict[str, Report]:
    """user_session_id -> its summary Report, for every session that has figures."""
    out: dict[str, Report] = {}
    for page in pages:
        for user in page.participants or []:
            for s in user.sessions or []:
                if s.user_session_id and (s.jitter_ms is not None or s.latency_ms is not None):
                    out[s.user_session_id] = report(user, s, ids)
    return out
