"""Cloudflare RealtimeKit: the unit of the samples' jitter and RTT, decided from evidence in the
report (the provider's own RTT and jitter-buffer summaries, its MOS, the shortest possible RTT)
and never from how slow the call was. Calls go through the real client and the lookup over
loopback, rendered by the emulator in seconds (WebRTC's unit) or in milliseconds."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.lookup import run
from bot.render import raw_json
from providers.cloudflare import CloudflareProvider, parse_peer_report
from providers.emulators.cloudflare import CloudflareEmulator
from providers.models import Direction, Media, Metric
from providers.sandbox import EmulatorServer
from providers.scenarios import generate

T0 = 1_790_000_000.0


def lan_call(key: str):
    """A clean call on a local network: RTT about 1 ms, jitter 0.5 ms, no loss."""
    truth = replace(generate("healthy", duration_s=120), key=key)
    rng = random.Random(key)
    for track in truth.tracks.values():
        track["rtt_ms"] = [round(rng.uniform(0.8, 1.2), 3) for _ in range(truth.n)]
        track["jitter_ms"] = [0.5] * truth.n
        track["loss_pct"] = [0.0] * truth.n
    return truth


def look_up(truth, **emulator_options):
    emulator = CloudflareEmulator([truth], **emulator_options)
    with EmulatorServer(emulator) as server:
        env = {k.lower(): v for k, v in emulator.settings_env(server.url).items()}
        return run(CloudflareProvider.parse([truth.uuid("peer")]), Settings(_env_file=None, **env))


def unit_note(report) -> str:
    [note] = [n for n in report.notes if " read as " in n]
    return note


def rtt_values(report):
    return [v for v in report.get(Media.AUDIO, Direction.SEND, Metric.RTT).values if v is not None]


@pytest.mark.parametrize("summaries", [True, False])
def test_a_lan_call_reported_in_ms_is_read_as_ms_and_graded_good(summaries):
    outcome = look_up(lan_call(f"lan-ms-{summaries}"), delay_unit="ms", summaries=summaries)
    report, verdict = outcome.report, outcome.verdict
    assert 0.8 <= min(rtt_values(report)) and max(rtt_values(report)) <= 1.2
    jitter = report.get(Media.AUDIO, Direction.RECEIVE, Metric.JITTER).values
    assert set(jitter) == {0.5}
    assert verdict.grade == "good", verdict.headline
    note = unit_note(report)
    assert note.startswith("RTT and jitter read as milliseconds: ")
    if summaries:  # the provider's RTT average, documented in ms, matches the samples
        assert "matches the provider's own RTT average of 0.9" in note
    else:  # no summary: its MOS of 4.4 rules out an RTT of a second
        assert "MOS (median 4.4" in note and "read as seconds, would allow" in note
    # The `raw` export carries the decision.
    assert note in json.loads(raw_json(report))["notes"]


@pytest.mark.parametrize("summaries", [True, False])
def test_a_lan_call_reported_in_seconds_is_read_as_seconds(summaries):
    outcome = look_up(lan_call(f"lan-s-{summaries}"), delay_unit="s", summaries=summaries)
    report = outcome.report
    assert 0.8 <= min(rtt_values(report)) and max(rtt_values(report)) <= 1.2
    assert outcome.verdict.grade == "good", outcome.verdict.headline
    note = unit_note(report)
    assert note.startswith("RTT and jitter read as seconds (shown in ms): ")
    if summaries:
        assert "is, in seconds, the provider's own RTT average" in note
    else:  # 0.001 ms is no round trip over any network
        assert "would be shorter than any network round trip" in note


def test_a_slow_call_reported_in_seconds_is_read_as_seconds():
    truth = generate("turn-tcp", duration_s=120)
    outcome = look_up(truth)
    assert min(rtt_values(outcome.report)) > 400
    assert unit_note(outcome.report).startswith("RTT and jitter read as seconds (shown in ms): ")
    assert outcome.verdict.grade != "good"


def test_the_same_slow_call_reported_in_ms_is_not_multiplied():
    truth = generate("turn-tcp", duration_s=120)
    outcome = look_up(truth, delay_unit="ms")
    assert 400 < min(rtt_values(outcome.report)) and max(rtt_values(outcome.report)) < 750
    assert unit_note(outcome.report).startswith("RTT and jitter read as milliseconds: ")


# --- each piece of evidence on its own, hand-built -----------------------------------------------


def iso(offset: float) -> str:
    return datetime.fromtimestamp(T0 + offset, UTC).isoformat().replace("+00:00", "Z")


def producer(rtts, jitter=None, mos=None):
    return [
        {
            "timestamp": iso(i),
            "producer_id": "p1",
            "rtt": rtt,
            **({"jitter": jitter} if jitter is not None else {}),
            **({"mos_quality": mos} if mos is not None else {}),
        }
        for i, rtt in enumerate(rtts)
    ]


def parse(quality):
    participant = {"peer_report": {"quality": quality}}
    return parse_peer_report({"success": True, "data": {"participant": participant}})


def test_bucket_shares_alone_tell_the_unit():
    # 1-ish RTTs, and the provider says no sample reached 100 ms: milliseconds.
    cum = {"rtt": {"100ms_or_greater_event_fraction": 0.0, "250ms_or_greater_event_fraction": 0}}
    report = parse({"audio_producer": producer([1.1, 0.9, 1.0]), "audio_producer_cumulative": cum})
    assert rtt_values(report) == [1.1, 0.9, 1.0]
    fits = "at or over 100 ms (0%) fits the samples read as milliseconds (0%), not as seconds"
    assert f"{fits} (100%)" in unit_note(report)
    # 0.3-0.6 with every sample over 250 ms and a third over 500 ms: seconds.
    shares = {"100ms": 1.0, "250ms": 1.0, "500ms": 0.34}
    cum = {"rtt": {f"{cut}_or_greater_event_fraction": f for cut, f in shares.items()}}
    report = parse({"audio_producer": producer([0.3, 0.45, 0.6]), "audio_producer_cumulative": cum})
    assert rtt_values(report) == pytest.approx([300, 450, 600])
    assert unit_note(report).startswith("RTT read as seconds (shown in ms): the provider's share")


def test_received_jitter_against_the_jitter_buffer_summary():
    rows = [{"timestamp": iso(i), "consumer_id": "c1", "jitter": 0.5} for i in range(3)]
    cum = {"jitter_buffer_delay": {"avg": 25}}
    report = parse({"audio_consumer": rows, "audio_consumer_cumulative": cum})
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.JITTER).values == [0.5] * 3
    note = unit_note(report)
    assert note.startswith("Jitter read as milliseconds: received audio jitter read as seconds")
    assert "jitter-buffer delay of 25 ms" in note


def test_with_nothing_to_check_the_documented_unit_is_assumed_and_said():
    # Jitter alone, no summary, no MOS: 0.004 could be 4 ms in seconds or 4 us in ms. The
    # API documents latency in milliseconds only, so that is what is read, and said.
    rows = [{"timestamp": iso(i), "consumer_id": "c1", "jitter": 0.004 * (i + 1)} for i in range(3)]
    report = parse({"audio_consumer": rows})
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.JITTER).values == [0.004, 0.008, 0.012]
    assert unit_note(report) == (
        "Jitter read as milliseconds, the unit the API documents for its own RTT and "
        "jitter-buffer summaries: nothing in this report cross-checks the samples' unit."
    )


def test_evidence_that_disagrees_is_named():
    # The provider's RTT average says seconds; its MOS of 4.4 says an RTT of 900 ms is
    # impossible. The summary is the stronger evidence; the note names the other.
    cum = {"rtt": {"avg": 900}}
    rows = producer([0.9, 0.9, 0.9], mos=4.4)
    report = parse({"audio_producer": rows, "audio_producer_cumulative": cum})
    assert rtt_values(report) == pytest.approx([900, 900, 900])
    note = unit_note(report)
    assert note.startswith("RTT read as seconds (shown in ms): the samples' mean audio RTT")
    assert "Against it: the provider's audio MOS (median 4.40)" in note


def test_no_delay_figures_no_note():
    rows = [{"timestamp": iso(i), "producer_id": "p", "packets_sent": 10 * i} for i in range(3)]
    assert parse({"audio_producer": rows}).notes == []
