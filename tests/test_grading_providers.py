"""Grading rules through all three providers' real clients: synthetic calls at 1 s, 2 s and
10 s sampling, rendered by the loopback emulators in each provider's own shapes, fetched and
normalized by the real clients, then graded. Grade, named metric, direction and time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.config import Settings
from bot.grading import Grade
from bot.lookup import run
from providers.base import get_provider_class
from providers.emulators.cloudflare import CloudflareEmulator
from providers.emulators.stream import StreamEmulator
from providers.emulators.videosdk import VideoSDKEmulator
from providers.sandbox import EmulatorServer
from providers.scenarios import AUDIO, RECEIVE, SEND, VIDEO, CallTruth, generate

STEPS = (1, 2, 10)
# name: (per-second bad ranges of receive audio/video loss in a 10-minute call, grades allowed)
LOSS_RULES = {
    "bursts": ({(125, 145): 20.0, (300, 320): 20.0, (480, 500): 20.0}, {Grade.FAIR, Grade.POOR}),
    "spike": ({(303, 308): 25.0}, {Grade.GOOD}),
    "join": ({(0, 25): 20.0}, {Grade.FAIR}),
    "sustained": ({(200, 380): 8.0}, {Grade.POOR}),
}
# Stream shows only what was published: the same rules on the frame rate sent.
FPS_RULES = {
    "fps-bursts": ({(125, 155): 3.0, (300, 330): 3.0, (480, 510): 3.0}, {Grade.FAIR, Grade.POOR}),
    "fps-spike": ({(303, 308): 3.0}, {Grade.GOOD}),
}


def _sampled(per_second: np.ndarray, step: int) -> list[float]:
    return [float(per_second[i : i + step].mean()) for i in range(0, len(per_second), step)]


def _truth(name: str, step: int, bad: dict, metric: str) -> CallTruth:
    truth = generate("healthy", duration_s=600, interval_s=step)
    truth = replace(truth, key=f"rule-{name}-{step}", title=name)
    for track in truth.tracks.values():  # no scenario spike: only the rule's own impairment
        track["loss_pct"] = [min(v, 0.5) for v in track["loss_pct"]]
        track["jitter_ms"] = [min(v, 8.0) for v in track["jitter_ms"]]
    if metric == "loss_pct":
        base = np.full(600, 0.2)
        for (a, b), value in bad.items():
            base[a:b] = value
        for media in (AUDIO, VIDEO):
            truth.tracks[(media, RECEIVE)]["loss_pct"] = _sampled(base, step)
    else:
        base = np.full(600, 30.0)
        for (a, b), value in bad.items():
            base[a:b] = value
        for direction in (SEND, RECEIVE):
            truth.tracks[(VIDEO, direction)]["fps"] = _sampled(base, step)
    return truth


CALLS = [
    _truth(name, step, bad, "loss_pct") for name, (bad, _) in LOSS_RULES.items() for step in STEPS
] + [_truth(name, step, bad, "fps") for name, (bad, _) in FPS_RULES.items() for step in STEPS]
T0 = CALLS[0].start.timestamp()


@pytest.fixture(scope="module")
def servers():
    started = {
        "cf": EmulatorServer(CloudflareEmulator(CALLS)).start(),
        "videosdk": EmulatorServer(VideoSDKEmulator(CALLS)).start(),
        "stream": EmulatorServer(StreamEmulator(CALLS)).start(),
    }
    yield started
    for server in started.values():
        server.stop()


def _lookup(servers, provider: str, key: str):
    server = servers[provider]
    words = next(w for w, t in server.emulator.demo_lookups() if t.key == key and len(w) <= 3)
    env = {k.lower(): v for k, v in server.emulator.settings_env(server.url).items()}
    settings = Settings(_env_file=None, **env)
    lookup = get_provider_class(words[0]).parse(words[1:])
    return run(lookup, settings)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("provider", ["cf", "videosdk"])
@pytest.mark.parametrize("rule", list(LOSS_RULES))
def test_loss_rules_through_the_provider(servers, provider, rule, step):
    outcome = _lookup(servers, provider, f"rule-{rule}-{step}")
    verdict = outcome.verdict
    allowed = LOSS_RULES[rule][1]
    assert verdict.grade in allowed, verdict.headline
    loss = [f for f in verdict.findings if f.metric == "loss_pct" and f.direction.value == RECEIVE]
    assert loss, [f.text for f in verdict.findings]
    worst = loss[0]
    if rule == "bursts":
        assert len(worst.episodes) == 3, worst.text
        starts = [round(e.start - T0) for e in worst.episodes]
        assert all(abs(s - want) <= step for s, want in zip(starts, (125, 300, 480), strict=True))
        assert "3 times" in verdict.headline
    elif rule == "spike":
        assert worst.episodes == []
    elif rule == "join":
        assert [e.edge for e in worst.episodes] == ["join"]
        assert "at join" in verdict.headline
    else:
        assert verdict.headline.startswith("Poor: packet loss on receive")
        [episode] = worst.episodes
        assert abs(episode.start - (T0 + 200)) <= step
        assert abs(episode.end - (T0 + 380)) <= step


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("rule", list(FPS_RULES))
def test_frame_rate_rules_through_stream(servers, rule, step):
    outcome = _lookup(servers, "stream", f"rule-{rule}-{step}")
    verdict = outcome.verdict
    assert verdict.grade in FPS_RULES[rule][1], verdict.headline
    fps = next(f for f in verdict.findings if f.metric == "fps")
    assert fps.direction.value == SEND
    if rule == "fps-bursts":
        starts = [round(e.start - T0) for e in fps.episodes]
        assert len(starts) == 3 and abs(starts[0] - 125) <= step, fps.text
    else:
        assert fps.episodes == []
        # A Good from Stream is never the green Good: it cannot see the network.
        assert verdict.limited and verdict.emoji != Grade.GOOD.emoji
        assert verdict.headline.startswith("No problem in what Stream")


@pytest.mark.parametrize("step", STEPS)
def test_the_same_rule_grades_alike_through_every_provider_with_loss(servers, step):
    for rule in LOSS_RULES:
        grades = {
            p: _lookup(servers, p, f"rule-{rule}-{step}").verdict.grade for p in ("cf", "videosdk")
        }
        assert len(set(grades.values())) == 1, (rule, grades)


@pytest.mark.parametrize(
    ("emulator", "expected"),
    [
        (CloudflareEmulator, Grade.POOR),
        (VideoSDKEmulator, Grade.POOR),
        (StreamEmulator, Grade.GOOD),
    ],
)
def test_an_audio_only_participant_is_graded_on_audio(emulator, expected):
    truth = replace(generate("receive-loss", duration_s=300, interval_s=5.0), key="audio-only")
    truth.tracks = {key: track for key, track in truth.tracks.items() if key[0] != VIDEO}
    truth.limitation = []
    with EmulatorServer(emulator([truth])) as server:
        words = server.emulator.demo_lookups()[0][0]
        env = {k.lower(): v for k, v in server.emulator.settings_env(server.url).items()}
        lookup = get_provider_class(words[0]).parse(words[1:])
        verdict = run(lookup, Settings(_env_file=None, **env)).verdict
    assert verdict.grade == expected, verdict.headline
    assert {m for m, _d, _x in verdict.coverage} == {"audio"}
    if emulator is StreamEmulator:
        # Stream sees only that audio was published: a limited Good, never the green one.
        assert verdict.limited and verdict.headline.startswith(
            "No problem in what Stream Video reports (published audio only)"
        )
    else:
        assert verdict.headline.startswith("Poor: packet loss on receive (audio)")


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("emulator", [CloudflareEmulator, VideoSDKEmulator])
def test_jitter_scattered_a_hair_over_the_edge_is_good_through_the_provider(emulator, step):
    truth = _truth("hair", step, {}, "loss_pct")
    rng = np.random.default_rng(11)
    per_second = 6.0 + (rng.random(600) < 0.35) * rng.uniform(4.2, 6.0, 600)
    for track in truth.tracks.values():
        track["jitter_ms"] = _sampled(per_second, step)
    with EmulatorServer(emulator([truth])) as server:
        outcome = _lookup({"x": server}, "x", truth.key)
    verdict = outcome.verdict
    jitter = [f for f in verdict.findings if f.metric == "jitter_ms"]
    assert jitter and all(f.episodes == [] for f in jitter), [f.text for f in jitter]
    assert verdict.grade == Grade.GOOD, verdict.headline


@pytest.mark.parametrize("emulator", [CloudflareEmulator, VideoSDKEmulator])
def test_a_call_of_two_samples_is_graded_from_them_through_the_provider(emulator):
    truth = replace(generate("healthy", duration_s=20, interval_s=10.0), key="two-samples")
    for media in (AUDIO, VIDEO):
        truth.tracks[(media, RECEIVE)]["loss_pct"] = [15.0, 15.0]
    with EmulatorServer(emulator([truth])) as server:
        verdict = _lookup({"x": server}, "x", truth.key).verdict
    assert verdict.grade == Grade.POOR, verdict.headline
    assert verdict.headline.startswith("Poor: packet loss on receive")
    assert any("call was short" in note for note in verdict.notes)


@pytest.mark.parametrize("step", STEPS)
def test_stream_warnings_are_read_through_the_client(step):
    truth = _truth("warned", step, {}, "fps")
    truth.warnings = [
        (120.0, VIDEO, "PACKET_LOSS", "Packet loss of 15% on the participant's connection"),
        (300.0, VIDEO, "QUALITY_LIMITED_BY_CPU", "Video quality is limited by the CPU"),
    ]
    # The frame rate sent falls at the CPU warning and stays down for two minutes.
    per_second = np.full(600, 30.0)
    per_second[300:420] = 6.0
    truth.tracks[(VIDEO, SEND)]["fps"] = _sampled(per_second, step)
    with EmulatorServer(StreamEmulator([truth])) as server:
        verdict = _lookup({"x": server}, "x", truth.key).verdict
    loss = next(f for f in verdict.findings if f.metric == "loss_pct")
    assert (loss.grade, loss.source, loss.p50) == (Grade.POOR, "warning", 15.0)
    assert loss.since == pytest.approx(T0 + 120, abs=1)
    assert "packet loss" not in verdict.unknown  # the warning said it
    fps = next(f for f in verdict.findings if f.metric == "fps")
    assert fps.cause == "the device's CPU could not keep up"
    assert fps.caused_by is not None and fps.caused_by.source == "warning"
    assert abs(fps.episodes[0].start - (T0 + 300)) <= step
    assert verdict.grade == Grade.POOR and not verdict.headline.startswith("No problem")
