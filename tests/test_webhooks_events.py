"""Which verified events trigger a grading, of what, and which are stale or malformed."""

from __future__ import annotations

import time
import uuid

import pytest

from bot.webhooks import events
from bot.webhooks.queue import Full, Scheduler

NOW = time.time()
SID = str(uuid.uuid4())


def parse(provider, event, headers=None, body=b"{}"):
    return events.parse(provider, event, headers or {}, body, now=NOW, max_age_s=3600)


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def test_cloudflare_triggers_grade_the_meeting_session_and_dedupe_on_uuid_and_body():
    ended = {"event": "meeting.ended", "meeting": {"sessionId": SID, "endedAt": iso(NOW)}}
    trigger = parse("cf", ended, {"rtk-uuid": "d-1"}, b"body")
    assert trigger.words == ("cf", "session", SID) and trigger.delayed
    assert trigger.call_key == f"cf:{SID}"
    assert trigger.dedupe_keys[0] == "webhook:cf:id:d-1"
    assert trigger.dedupe_keys[1] == events.body_key("cf", b"body")
    left = {"event": "meeting.participantLeft", "meeting": {"sessionId": SID}, "participant": {}}
    assert parse("cf", left).call_key == trigger.call_key  # same call, same message
    assert parse("cf", {"event": "meeting.started", "meeting": {"sessionId": SID}}) is None


def test_videosdk_and_stream_triggers():
    vs = parse("videosdk", {"webhookType": "participant-left", "data": {"sessionId": "abc123"}})
    assert vs.words == ("videosdk", "session", "abc123") and vs.delayed
    st = parse(
        "stream",
        {"type": "call.stats_report_ready", "call_cid": "default:x", "session_id": "s1"},
        {"x-webhook-id": "w-9"},
    )
    assert st.words == ("stream", "session", "default:x", "s1") and not st.delayed
    assert st.dedupe_keys[0] == "webhook:stream:id:w-9"
    assert parse("stream", {"type": "call.ended", "call_cid": "default:x"}) is None


@pytest.mark.parametrize(
    ("provider", "event"),
    [
        (
            "cf",
            {"event": "meeting.ended", "meeting": {"sessionId": SID, "endedAt": iso(NOW - 7200)}},
        ),
        (
            "cf",
            {"event": "meeting.ended", "meeting": {"sessionId": SID, "endedAt": iso(NOW + 3600)}},
        ),
        ("videosdk", {"webhookType": "session-ended", "data": {"sessionId": "a", "end": iso(0)}}),
        (
            "stream",
            {
                "type": "call.stats_report_ready",
                "call_cid": "a:b",
                "session_id": "s",
                "created_at": 1,
            },
        ),
    ],
)
def test_old_or_future_events_are_stale(provider, event):
    with pytest.raises(events.Stale):
        parse(provider, event)


@pytest.mark.parametrize(
    ("provider", "event"),
    [
        ("cf", {"event": "meeting.ended", "meeting": {}}),
        ("cf", {"event": "meeting.ended", "meeting": {"sessionId": "not-a-uuid"}}),
        ("videosdk", {"webhookType": "session-ended", "data": {"sessionId": "a/../b"}}),
        ("stream", {"type": "call.stats_report_ready", "call_cid": "nocolon", "session_id": "s"}),
    ],
)
def test_triggers_without_usable_ids_are_malformed(provider, event):
    with pytest.raises(events.Malformed):
        parse(provider, event)


def test_scheduler_merges_a_waiting_call_and_bounds_the_rest():
    ran: list[tuple[str, int]] = []
    scheduler = Scheduler(lambda payload, attempt: ran.append((payload, attempt)), capacity=1)
    try:
        assert scheduler.offer("call-a", "first", 30) == "queued"
        assert scheduler.offer("call-a", "second", 0) == "merged"
        with pytest.raises(Full):
            scheduler.offer("call-b", "other", 0)
        assert not scheduler.has_room("call-b") and scheduler.has_room("call-a")
    finally:
        scheduler.close()
    assert ran == []  # still waiting for the later of the two delays when closed
