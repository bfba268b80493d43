"""Cloudflare RealtimeKit vendor JSON -> normalized Report: the documented example shapes,
hand-built payloads (counter deltas and resets, units, merging, missing/null/extra fields),
every sandbox scenario as the emulator renders it, an hour sampled every second, and the
verdict end to end."""

from __future__ import annotations

import json
import math
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from providers import cloudflare_raw as raw
from providers.cloudflare import CloudflareProvider, parse_peer_report
from providers.cloudflare_normalize import normalize
from providers.emulators.cloudflare import CloudflareEmulator, render_report
from providers.models import Direction, EventKind, Media, Metric
from providers.sandbox import EmulatorServer
from providers.scenarios import generate

FIXTURES = Path(__file__).parent / "fixtures" / "cloudflare"
T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def iso(offset: float) -> str:
    return datetime.fromtimestamp(T0 + offset, UTC).isoformat().replace("+00:00", "Z")


def body(participant: dict) -> dict:
    return {"success": True, "data": {"participant": participant}}


def values(report, media, direction, metric):
    series = report.get(media, direction, metric)
    assert series is not None, (media, direction, metric)
    return series.values


# --- the documented example shapes -------------------------------------------------------------


def test_seed_peer_report_example_parses():
    doc = load("peer_report_seed.json")
    quality = doc["data"]["participant"]["peer_report"]["quality"]
    quality["audio_consumer_cumulative"]["packet_loss"]["5_or_greater_event_fraction"] = 0.25
    quality["video_producer_cumulative"]["rtt"]["250ms_or_greater_event_fraction"] = 0.5
    quality["video_producer_cumulative"]["issues"]["cpu_quality_limitation_fraction"] = 0.75
    report = parse_peer_report(doc, {"peer_id": "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"})
    assert report.participant.id == "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
    assert report.participant.display_name == "display_name"
    assert report.participant.role == "role"
    assert report.participant.joined_at is None  # the placeholder "joined_at" is not a time
    assert (report.client.browser, report.client.os, report.client.sdk_name) == (
        "browser",
        "os",
        "sdk_name",
    )
    assert report.network.ip == "ipv4" and report.network.asn == "asn"
    assert report.network.turn_connectivity is True
    # Placeholder timestamps: no sample can be placed in time, so nothing is graded.
    assert report.series == [] and report.events == []
    assert report.missing == ["quality stats"]
    summaries = {(s.media, s.direction): s.values for s in report.summaries}
    assert len(summaries) == 8
    assert summaries[(Media.AUDIO, Direction.RECEIVE)]["loss_5pct_fraction"] == 0.25
    assert summaries[(Media.VIDEO, Direction.SEND)]["rtt_250ms_fraction"] == 0.5
    assert summaries[(Media.VIDEO, Direction.SEND)]["cpu_limited_fraction"] == 0.75
    assert "jitter_buffer_avg_ms" in summaries[(Media.SCREEN_AUDIO, Direction.RECEIVE)]


def test_seed_participant_details_legacy_shape():
    doc = load("participant_details_seed.json")
    details = raw.Envelope.model_validate(doc).data.participant
    report = normalize(raw.Participant(), details, {"session_id": "s", "participant_id": "p"})
    assert report.participant.role == "preset_name"
    assert report.participant.custom_id == "custom_participant_id"
    # The Dyte-era `peer_stats` still fills the client and location.
    assert report.client.browser == "browser" and report.client.sdk_version == "sdk_version"
    assert report.network.city == "city" and report.network.ip == "ipv4"
    assert report.missing == ["quality stats", "connection path"]


# --- hand-built payloads -----------------------------------------------------------------------


def consumer(offset, received, lost, nbytes, **extra):
    return {
        "timestamp": iso(offset),
        "consumer_id": "c1",
        "peer_id": "remote-1",
        "ssrc": 1111,
        "packets_received": received,
        "packets_lost": lost,
        "bytes_received": nbytes,
        **extra,
    }


def test_counter_deltas_resets_and_units():
    audio_in = [
        consumer(0, 0, 0, 0, jitter=0.004, jitter_buffer_delay=1.0, jitter_buffer_emitted_count=50),
        consumer(
            1,
            100,
            0,
            12_500,
            jitter=0.006,
            jitter_buffer_delay=2.5,
            jitter_buffer_emitted_count=100,
        ),
        consumer(2, 190, 10, 25_000, jitter=None, unknown_future_field={"x": 1}),
        consumer(3, 10, 0, 1_000),  # counters went backwards: a reset
        consumer(4, 110, 5, 13_500, mos_quality=3.9),
    ]
    video_out = [
        {
            "timestamp": iso(i),
            "producer_id": "p1",
            "ssrc": 2222,
            "packets_sent": 100 * i,
            "packets_lost": [0, 5, 5][i],
            "bytes_sent": 250_000 * i,
            "jitter": [0.012, 0.015, 0.020][i],  # seconds, like the RTT beside it
            "rtt": [0.05, 0.06, 0.07][i],  # seconds: 0.06 ms is no network round trip
            "frames_per_second": 30,
            "frame_width": 1280,
            "frame_height": 720,
            "quality_limitation_reason": ["none", "bandwidth", "cpu"][i],
        }
        for i in range(3)
    ]
    doc = body(
        {"peer_report": {"quality": {"audio_consumer": audio_in, "video_producer": video_out}}}
    )
    report = parse_peer_report(doc)
    loss = values(report, Media.AUDIO, Direction.RECEIVE, Metric.LOSS)
    # After the reset the counter counted from zero: 10 received, none lost is 0 %.
    assert loss == [None, 0.0, 10.0, 0.0, pytest.approx(100 * 5 / 105)]
    assert values(report, Media.AUDIO, Direction.RECEIVE, Metric.BITRATE) == [
        None,
        100.0,
        100.0,
        None,
        100.0,
    ]
    assert values(report, Media.AUDIO, Direction.RECEIVE, Metric.JITTER) == [
        4.0,
        6.0,
        None,
        None,
        None,
    ]
    # 1.5 s held over 50 emitted samples: 30 ms each.
    jb = values(report, Media.AUDIO, Direction.RECEIVE, Metric.JITTER_BUFFER)
    assert jb[1] == pytest.approx(30.0)
    assert values(report, Media.AUDIO, Direction.RECEIVE, Metric.MOS)[4] == 3.9
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.RTT) is None
    assert values(report, Media.VIDEO, Direction.SEND, Metric.LOSS) == [None, 5.0, 0.0]
    assert values(report, Media.VIDEO, Direction.SEND, Metric.JITTER) == pytest.approx([12, 15, 20])
    assert values(report, Media.VIDEO, Direction.SEND, Metric.RTT) == pytest.approx([50, 60, 70])
    assert report.notes == [
        "RTT and jitter read as seconds (shown in ms): read as milliseconds, the median RTT of "
        "0.06 ms would be shorter than any network round trip to a media server."
    ]
    assert values(report, Media.VIDEO, Direction.SEND, Metric.BITRATE) == [None, 2000.0, 2000.0]
    assert values(report, Media.VIDEO, Direction.SEND, Metric.HEIGHT) == [720, 720, 720]
    assert report.get(Media.AUDIO, Direction.SEND, Metric.LOSS) is None
    assert [(lim.reason, lim.time) for lim in report.limitations] == [
        ("none", T0),
        ("bandwidth", T0 + 1),
        ("cpu", T0 + 2),
    ]
    assert {lim.media for lim in report.limitations} == {Media.VIDEO}
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).times[0] == T0
    assert report.missing == ["location", "device", "connection path"]


def test_consumers_of_several_remote_peers_merge_to_the_worst():
    def stream(cid, fps, lost_step, offset_ms=0):
        return [
            {
                "timestamp": iso(i + offset_ms / 1000),
                "consumer_id": cid,
                "packets_received": 100 * i,
                "packets_lost": lost_step * i,
                "frames_per_second": fps,
                "frame_height": 720 if cid == "a" else 360,
            }
            for i in range(3)
        ]

    quality = {"video_consumer": stream("a", 30, 0) + stream("b", 12, 25, offset_ms=20)}
    report = parse_peer_report(body({"peer_report": {"quality": quality}}))
    assert values(report, Media.VIDEO, Direction.RECEIVE, Metric.FPS) == [12, 12, 12]
    assert values(report, Media.VIDEO, Direction.RECEIVE, Metric.HEIGHT) == [360, 360, 360]
    assert values(report, Media.VIDEO, Direction.RECEIVE, Metric.LOSS) == [None, 20.0, 20.0]
    assert len(report.find(media=Media.VIDEO, metric=Metric.FPS)) == 1
    assert report.notes == ["Received video is the worst of 2 streams at each time."]


def test_missing_null_and_extra_fields_are_tolerated():
    participant = {
        "id": "p",
        "display_name": None,
        "duration": None,
        "joined_at": "2026-11-20T14:00:00.000Z",
        "left_at": "1790000600000",  # epoch milliseconds as a string
        "new_top_level_thing": [1, 2],
        "peer_events": [None, {"event_name": "PEER_CREATED", "created_at": iso(0)}],
        "peer_report": {
            "metadata": {
                "device_info": None,
                "browser_metadata": {"browser": "Chrome", "extra": True},
                "ip_information": {"asn": {"asn": 3320}, "city": None, "country": "DE"},
                "candidate_pairs": {"producing_transport": None, "consuming_transport": [None]},
                "pc_metadata": [None, {"effective_network_type": "4g"}],
                "events": [None, {"name": None}, {"name": "x", "timestamp": None}],
                "selected_device_updates": [None, {"device": None}],
            },
            "quality": {
                "audio_producer": [None, {"timestamp": None}, {"timestamp": "not a time"}],
                "audio_producer_cumulative": {"quality_mos": None, "packet_loss": {"avg": None}},
                "video_consumer": None,
                "surprise_list": [{"a": 1}],
            },
        },
    }
    report = parse_peer_report(body(participant))
    assert report.participant.display_name is None
    assert report.participant.left_at.timestamp() == 1_790_000_600
    assert report.network.asn == "3320" and report.network.country == "DE"
    assert report.network.network_type == "4g"
    assert report.client.browser == "Chrome"
    assert report.series == [] and report.summaries == [] and report.events == []
    assert report.missing == ["quality stats", "connection path"]


def test_network_path_events_and_devices():
    metadata = {
        "device_info": {"cpus": 4, "is_mobile": False, "os": "Windows", "os_version": "11"},
        "ip_information": {"ipv4": "198.51.100.7", "org": "Example ISP", "city": "Oslo"},
        "pc_metadata": [{"effective_network_type": "4g", "turn_connectivity": False}],
        "candidate_pairs": {
            "producing_transport": [
                {
                    "nominated": False,
                    "local_candidate_type": "host",
                    "local_candidate_protocol": "udp",
                },
                {
                    "nominated": True,
                    "local_candidate_type": "relay",
                    "local_candidate_protocol": "udp",
                    "local_candidate_url": "turns:turn.example.net:443?transport=tcp",
                    "local_candidate_network_type": "wifi",
                    "remote_candidate_type": "host",
                    "available_outgoing_bitrate": 1_250_000,
                },
            ],
            "consuming_transport": [{"nominated": True, "available_incoming_bitrate": 3_000_000}],
        },
        "events": [
            {"name": "RECONNECTING", "timestamp": iso(30)},
            {"name": "ice_restart", "timestamp": iso(31)},
            {"name": "getusermedia_error", "timestamp": iso(5)},
            {"name": "tab_hidden", "timestamp": iso(40)},
        ],
        "selected_device_updates": [
            {"device": {"kind": "audioinput", "label": "USB Mic"}, "timestamp": iso(10)}
        ],
        "video_devices_updates": [
            {
                "added": [{"kind": "videoinput", "label": "Cam 2"}],
                "removed": [],
                "timestamp": iso(20),
            }
        ],
    }
    events = [
        {"event_name": "PEER_JOINING", "created_at": iso(0)},
        {"event_name": "PEER_LEAVING", "created_at": iso(60)},
    ]
    report = parse_peer_report(body({"peer_events": events, "peer_report": {"metadata": metadata}}))
    net = report.network
    assert (net.relayed, net.transport, net.network_type) == (True, "tls", "wifi")
    assert (net.local_candidate_type, net.remote_candidate_type) == ("relay", "host")
    assert (net.available_outgoing_kbps, net.available_incoming_kbps) == (1250, 3000)
    assert net.turn_connectivity is False and net.ip == "198.51.100.7"
    assert report.client.cpus == 4 and report.client.os == "Windows"
    assert [(e.kind, e.text) for e in report.events] == [
        (EventKind.JOIN, "Joined the session"),
        (EventKind.WARNING, "Getusermedia error"),
        (EventKind.DEVICE_CHANGE, 'Microphone changed to "USB Mic"'),
        (EventKind.DEVICE_CHANGE, 'Camera "Cam 2" connected'),
        (EventKind.RECONNECT, "Reconnecting"),
        (EventKind.RECONNECT, "ICE restart"),
        (EventKind.OTHER, "Tab hidden"),
        (EventKind.LEAVE, "Left the session"),
    ]


# --- sandbox scenarios as the emulator renders them ---------------------------------------------


@pytest.fixture(scope="module")
def scenario_reports():
    calls = [
        generate(key)
        for key in ("healthy", "receive-loss", "cpu-limited", "turn-tcp", "sparse", "no-stats")
    ]
    emulator = CloudflareEmulator(calls)
    with EmulatorServer(emulator) as server:
        values_ = {k.lower(): v for k, v in emulator.settings_env(server.url).items()}
        provider = CloudflareProvider.from_settings(Settings(_env_file=None, **values_))
        try:
            yield {
                t.key: (t, provider.fetch(CloudflareProvider.parse([t.uuid("peer")])))
                for t in calls
            }
        finally:
            provider.close()


def test_receive_loss_matches_the_truth(scenario_reports):
    truth, report = scenario_reports["receive-loss"]
    loss = values(report, Media.AUDIO, Direction.RECEIVE, Metric.LOSS)
    want = truth.tracks[("audio", "receive")]["loss_pct"]
    # Integer counters over 250 packets per interval: within half a percent of the truth.
    assert all(abs(got - w) < 0.5 for got, w in zip(loss[1:], want[1:], strict=True))
    bad = loss[int(truth.n * 0.3) : int(truth.n * 0.85)]
    assert min(bad) > 7.5 and max(bad) < 15.5 and statistics.median(bad) > 9
    jitter = values(report, Media.AUDIO, Direction.RECEIVE, Metric.JITTER)
    assert jitter == pytest.approx(truth.tracks[("audio", "receive")]["jitter_ms"], abs=0.01)
    kbps = values(report, Media.VIDEO, Direction.RECEIVE, Metric.BITRATE)
    want_kbps = truth.tracks[("video", "receive")]["bitrate_kbps"]
    assert all(
        math.isclose(g, w, rel_tol=0.01) for g, w in zip(kbps[1:], want_kbps[1:], strict=True)
    )
    assert max(values(report, Media.AUDIO, Direction.SEND, Metric.LOSS)[1:]) < 1.5
    assert [e.kind for e in report.events] == [EventKind.JOIN, EventKind.RECONNECT, EventKind.LEAVE]
    assert report.network.city == "Lisbon" and report.missing == []
    rx = next(
        s for s in report.summaries if (s.media, s.direction) == (Media.AUDIO, Direction.RECEIVE)
    )
    assert 0.4 < rx.values["loss_5pct_fraction"] < 0.7


def test_cpu_limited_has_cpu_limitations(scenario_reports):
    truth, report = scenario_reports["cpu-limited"]
    cpu = [lim.time for lim in report.limitations if lim.reason == "cpu"]
    times = truth.times()
    assert cpu == [times[i] for i, r in enumerate(truth.limitation) if r == "cpu"]
    assert all(
        lim.media == Media.VIDEO and lim.direction == Direction.SEND for lim in report.limitations
    )
    assert max(values(report, Media.VIDEO, Direction.SEND, Metric.FPS)[-10:]) < 12
    tx = next(
        s for s in report.summaries if (s.media, s.direction) == (Media.VIDEO, Direction.SEND)
    )
    assert tx.values["cpu_limited_fraction"] == pytest.approx(0.8, abs=0.02)
    assert [e.text for e in report.events if e.kind == EventKind.DEVICE_CHANGE] == [
        'Camera changed to "Logitech BRIO"'
    ]
    assert report.client.cpus == 2 and report.client.browser == "Firefox"


def test_turn_tcp_is_relayed_over_tcp_with_high_rtt(scenario_reports):
    _, report = scenario_reports["turn-tcp"]
    assert report.network.relayed is True and report.network.transport == "tcp"
    assert report.network.local_candidate_type == "relay"
    assert report.network.network_type == "cellular"
    rtt = values(report, Media.AUDIO, Direction.SEND, Metric.RTT)
    assert min(rtt) > 400 and max(rtt) < 750
    assert report.client.is_mobile is True


def test_no_stats_has_no_series_and_says_so(scenario_reports):
    _, report = scenario_reports["no-stats"]
    assert report.series == [] and report.limitations == [] and report.summaries == []
    assert "quality stats" in report.missing
    assert report.participant.display_name == "Alan"
    assert report.participant.duration_s == pytest.approx(300)


def test_healthy_has_low_loss(scenario_reports):
    _, report = scenario_reports["healthy"]
    for media in (Media.AUDIO, Media.VIDEO):
        for direction in (Direction.SEND, Direction.RECEIVE):
            loss = [v for v in values(report, media, direction, Metric.LOSS) if v is not None]
            assert statistics.median(loss) < 1
    assert report.network.relayed is False and report.network.transport == "udp"
    assert report.missing == []


def test_sparse_keeps_what_is_there(scenario_reports):
    truth, report = scenario_reports["sparse"]
    assert report.has_stats
    rtt = values(report, Media.AUDIO, Direction.SEND, Metric.RTT)
    want = truth.tracks[("audio", "send")]["rtt_ms"]
    assert [v is None for v in rtt] == [v is None for v in want]
    assert report.client.browser is None and report.client.os == "Android"
    assert "connection path" in report.missing


# --- an hour sampled every second --------------------------------------------------------------


def test_one_hour_per_second_parses_fast():
    truth = generate("receive-loss", duration_s=3600, interval_s=1.0)
    doc = json.loads(json.dumps(body({"peer_report": render_report(truth)})))
    started = time.perf_counter()
    report = parse_peer_report(doc)
    elapsed = time.perf_counter() - started
    assert len(values(report, Media.AUDIO, Direction.RECEIVE, Metric.LOSS)) == 3600
    assert elapsed < 1.0, elapsed


# --- the verdict end to end --------------------------------------------------------------------


@pytest.fixture(scope="module")
def verdicts():
    from bot.lookup import run

    calls = [generate(key, duration_s=120) for key in ("healthy", "receive-loss", "no-stats")]
    emulator = CloudflareEmulator(calls)
    with EmulatorServer(emulator) as server:
        values_ = {k.lower(): v for k, v in emulator.settings_env(server.url).items()}
        settings = Settings(_env_file=None, **values_)
        yield {
            t.key: run(CloudflareProvider.parse([t.uuid("peer")]), settings).verdict for t in calls
        }


def test_verdicts_through_lookup(verdicts):
    assert verdicts["healthy"].grade == "good"
    poor = verdicts["receive-loss"]
    assert poor.grade == "poor"
    top = poor.findings[0]
    assert (top.metric, top.direction, top.grade) == ("loss_pct", Direction.RECEIVE, "poor")
    assert "loss" in top.text.lower() and "receive" in top.text
    unknown = verdicts["no-stats"]
    assert unknown.grade == "unknown" and "quality stats" in unknown.unknown


def test_simulcast_layers_add_up_and_share_one_limitation():
    def layer(ssrc, kbits, height, reason):
        return [
            {
                "timestamp": iso(i),
                "producer_id": "cam",
                "ssrc": ssrc,
                "bytes_sent": kbits * 125 * i,
                "frame_height": height,
                "quality_limitation_reason": reason,
            }
            for i in range(3)
        ]

    quality = {"video_producer": layer(1, 150, 180, "none") + layer(2, 1200, 720, "bandwidth")}
    report = parse_peer_report(body({"peer_report": {"quality": quality}}))
    assert values(report, Media.VIDEO, Direction.SEND, Metric.BITRATE) == [None, 1350, 1350]
    assert values(report, Media.VIDEO, Direction.SEND, Metric.HEIGHT) == [720, 720, 720]
    assert [(lim.time, lim.reason) for lim in report.limitations] == [
        (T0 + i, "bandwidth") for i in range(3)
    ]
    assert report.notes == []


def test_millisecond_reports_stay_in_milliseconds():
    """A clean call reported in ms (RTT 40-60, jitter 1-4) with nothing to cross-check it is
    read in the unit the API documents for latency, milliseconds, and the note says so."""
    rows = [
        {
            "timestamp": iso(i),
            "producer_id": "p1",
            "packets_sent": 100 * i,
            "packets_lost": 0,
            "jitter": [1.0, 2.5, 4.0][i],
            "rtt": [40, 50, 60][i],
        }
        for i in range(3)
    ]
    report = parse_peer_report(body({"peer_report": {"quality": {"audio_producer": rows}}}))
    assert values(report, Media.AUDIO, Direction.SEND, Metric.JITTER) == [1.0, 2.5, 4.0]
    assert values(report, Media.AUDIO, Direction.SEND, Metric.RTT) == [40, 50, 60]
    assert report.notes == [
        "RTT and jitter read as milliseconds, the unit the API documents for its own RTT and "
        "jitter-buffer summaries: nothing in this report cross-checks the samples' unit."
    ]


def test_loss_at_join_and_right_after_a_reconnect_is_kept():
    # The first sample's counters and those after a reset counted from zero: their own values
    # are the interval's loss. A first sample whose counters ran long before (far more than a
    # few intervals' worth) stays empty instead.
    def row(i, received, lost):
        return {
            "timestamp": iso(i),
            "consumer_id": "c1",
            "producer_id": "p1",
            "peer_id": "remote",
            "ssrc": 1,
            "packets_received": received,
            "packets_lost": lost,
        }

    rows = [row(0, 40, 10), row(1, 90, 10), row(2, 140, 10), row(3, 30, 20), row(4, 80, 20)]
    report = parse_peer_report(body({"peer_report": {"quality": {"audio_consumer": rows}}}))
    loss = values(report, Media.AUDIO, Direction.RECEIVE, Metric.LOSS)
    assert loss == [20.0, 0.0, 0.0, pytest.approx(40.0), 0.0]
    stale = [row(0, 50_000, 10), row(1, 50_050, 10), row(2, 50_100, 10)]
    report = parse_peer_report(body({"peer_report": {"quality": {"audio_consumer": stale}}}))
    assert values(report, Media.AUDIO, Direction.RECEIVE, Metric.LOSS) == [None, 0.0, 0.0]
