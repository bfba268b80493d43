"""The ranked session overview: order, the whole-call reading, the time budget, rendering."""

from __future__ import annotations

import threading
import uuid

from bot import overview_render
from bot.config import Settings
from bot.grading import Finding, Grade, Verdict
from bot.lookup import Outcome
from bot.overview import rank, shared_cause
from providers.base import Lookup
from providers.errors import NotFoundError
from providers.models import Listing, ListingRow, Participant, Report

SID = str(uuid.uuid5(uuid.NAMESPACE_URL, "overview-session"))


def pid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"overview/{name}"))


def listing(*names: str) -> Listing:
    rows = [ListingRow(id=pid(n), name=n, command=f"cf {SID} {pid(n)}") for n in names]
    return Listing(provider="cf", title=f"Participants of session {SID}", rows=rows)


def verdict(grade: Grade, cause: str = "", since: float | None = None) -> Verdict:
    findings = []
    if grade in (Grade.FAIR, Grade.POOR):
        findings.append(
            Finding(
                metric="loss_pct",
                grade=grade,
                text=cause,
                since=since,
                until=None if since is None else since + 120,
                duration_s=120.0,
            )
        )
    headline = f"{grade.word}: {cause}" if cause else f"{grade.word}: no sustained problem"
    return Verdict(grade, headline, findings)


def grader(verdicts: dict[str, Verdict], fail: dict[str, Exception] | None = None):
    by_pid = {pid(n): (n, v) for n, v in verdicts.items()}
    failing = {pid(n): e for n, e in (fail or {}).items()}

    def one(lookup: Lookup) -> Outcome:
        key = lookup.id_map["participant_id"]
        if key in failing:
            raise failing[key]
        name, v = by_pid[key]
        report = Report(provider="cf", participant=Participant(display_name=name))
        return Outcome(lookup, report, v, 0.0)

    return one


def test_worst_first_with_cause_and_exact_command():
    verdicts = {
        "Ada": verdict(Grade.GOOD),
        "Grace": verdict(Grade.POOR, "packet loss on receive (audio) 12 %", 1000.0),
        "Linus": verdict(Grade.FAIR, "frame rate on send (video) 12 fps", 5000.0),
    }
    overview = rank(listing("Ada", "Grace", "Linus"), grader(verdicts))
    assert [r.name for r in overview.ranked] == ["Grace", "Linus", "Ada"]
    assert overview.worst_grade == Grade.POOR
    assert [r.name for r in overview.at_least(Grade.FAIR)] == ["Grace", "Linus"]
    text, blocks = overview_render.blocks(
        overview, label="RTK", command="cf session x", request_id="cq-1"
    )
    body = blocks[1]["text"]["text"]
    assert body.splitlines()[0] == (
        ":red_circle: *Grace* · *Poor*: packet loss on receive (audio) 12 %"
    )
    assert body.splitlines()[1] == f"      `cf {SID} {pid('Grace')}`"
    assert body.index("Linus") < body.index("Ada")
    assert text.endswith("worst Grace (Poor)")


def test_most_participants_at_once_is_a_shared_cause():
    verdicts = {
        "A": verdict(Grade.POOR, "loss", 1000.0),
        "B": verdict(Grade.POOR, "loss", 1060.0),
        "C": verdict(Grade.FAIR, "jitter", 1090.0),
        "D": verdict(Grade.GOOD),
    }
    overview = rank(listing(*verdicts), grader(verdicts))
    assert overview.shared is not None
    assert overview.shared.startswith("3 of 4 participants had problems at the same time")
    assert "shared cause" in overview.shared


def test_one_participant_alone_is_their_own_network():
    verdicts = {"A": verdict(Grade.POOR, "loss", 1000.0), "B": verdict(Grade.GOOD)}
    overview = rank(listing(*verdicts), grader(verdicts))
    assert overview.shared == (
        "Only A had problems; the other 1 stayed fine: likely A's own network or device."
    )


def test_problems_at_different_times_are_not_shared():
    verdicts = {
        "A": verdict(Grade.POOR, "loss", 1000.0),
        "B": verdict(Grade.POOR, "loss", 9000.0),
        "C": verdict(Grade.GOOD),
        "D": verdict(Grade.GOOD),
        "E": verdict(Grade.GOOD),
    }
    assert "different times" in shared_cause(rank(listing(*verdicts), grader(verdicts)).ranked)


def test_budget_spent_lists_the_slow_ones_as_pending_and_errors_in_words():
    release = threading.Event()
    verdicts = {"Fast": verdict(Grade.FAIR, "jitter", 10.0), "Slow": verdict(Grade.GOOD)}
    base = grader(verdicts, {"Gone": NotFoundError("No participant `x`.", provider="cf")})

    def one(lookup: Lookup) -> Outcome:
        if lookup.id_map["participant_id"] == pid("Slow"):
            release.wait(5)
        return base(lookup)

    try:
        overview = rank(listing("Fast", "Slow", "Gone"), one, budget_s=0.3)
    finally:
        release.set()
    assert [r.name for r in overview.ranked] == ["Fast", "Gone"]
    assert overview.ranked[1].error == "No participant `x`."
    assert [r.name for r in overview.pending] == ["Slow"]
    out = overview_render.text(overview)
    assert "Not graded within 0 s (1): run their commands for the full lookup." in out
    assert f"⏳ Slow: cf {SID} {pid('Slow')}" in out


# --- Stream: the session summary first, full lookups where it has nothing ----------------------


def test_stream_session_is_ranked_from_the_session_summary(sandbox):
    from bot.commands import parse_words
    from bot.lookup import run
    from providers.emulators.stream import StreamEmulator

    emulator: StreamEmulator = sandbox.servers["stream"].emulator
    truth = next(t for t in emulator.calls if t.key == "turn-tcp")
    outcome = run(
        parse_words(["stream", "session", "default:turn-tcp"]), sandbox.settings(Settings)
    )
    top = outcome.overview.ranked[0]
    assert (top.name, top.from_summary, top.verdict.grade) == ("Margaret", True, Grade.POOR)
    assert top.verdict.headline.startswith("Poor: round-trip time")
    assert top.command.endswith(f"user-margaret {truth.uuid('stream-user-session')}")
    paths = [r.path for r in emulator.requests]
    assert sum("/call_stats/" in p for p in paths) == 1
    assert not any(truth.uuid("stream-user-session") in p and "details" in p for p in paths)
    out = overview_render.text(outcome.overview)
    assert "Graded from Stream Video's session summary" in out
    assert "203.0.113" not in out


def test_stream_without_a_session_summary_falls_back_to_full_lookups(sandbox):
    from bot.commands import parse_words
    from bot.lookup import run

    emulator = sandbox.servers["stream"].emulator
    emulator.summaries = False
    try:
        outcome = run(
            parse_words(["stream", "session", "default:cpu-limited"]), sandbox.settings(Settings)
        )
    finally:
        emulator.summaries = True
    top = outcome.overview.ranked[0]
    assert (top.name, top.from_summary, top.verdict.grade) == ("user-linus", False, Grade.POOR)
    assert "session summary" not in overview_render.text(outcome.overview)
