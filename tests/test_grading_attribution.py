"""The other side of the call: a bad receive side is checked against the senders' uplinks,
through the real Cloudflare and VideoSDK clients over loopback, and in `compare`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Settings
from bot.grading import between, grade
from bot.lookup import run
from providers.emulators.cloudflare import CloudflareEmulator
from providers.emulators.videosdk import SHARED_SESSION, VideoSDKEmulator, participant_id
from providers.sandbox import EmulatorServer
from providers.scenarios import AUDIO, RECEIVE, SEND, VIDEO, Profile, generate
from providers.videosdk import VideoSDKProvider


def _call(key: str, name: str, bad: dict[tuple[str, str], tuple[int, int, float]], remote=None):
    truth = generate("healthy", duration_s=600, interval_s=5.0)
    truth = replace(truth, key=key, title=key, remote=remote)
    truth.profile = Profile(name, f"user-{name.lower()}")
    for track in truth.tracks.values():
        track["loss_pct"] = [min(v, 0.5) for v in track["loss_pct"]]
        track["jitter_ms"] = [min(v, 8.0) for v in track["jitter_ms"]]
    for (media, direction), (a, b, value) in bad.items():
        loss = truth.tracks[(media, direction)]["loss_pct"]
        for i in range(a // 5, b // 5):
            loss[i] = value
    return truth


# Bob's uplink loses 10 % from minute 3 to 5; Ann hears Bob and loses the same then.
BOB = _call("pair-bob", "Bob", {(AUDIO, SEND): (180, 300, 10.0), (VIDEO, SEND): (180, 300, 10.0)})
ANN = _call(
    "pair-ann",
    "Ann",
    {(AUDIO, RECEIVE): (180, 300, 10.0), (VIDEO, RECEIVE): (180, 300, 10.0)},
    remote="pair-bob",
)
# Cid loses packets on receive while Bob... no: while Dee, whom Cid hears, sends cleanly.
DEE = _call("pair-dee", "Dee", {})
CID = _call("pair-cid", "Cid", {(AUDIO, RECEIVE): (180, 300, 10.0)}, remote="pair-dee")
# Eve hears a peer the provider has no report for.
EVE = _call("pair-eve", "Eve", {(AUDIO, RECEIVE): (180, 300, 10.0)}, remote="pair-gone")
CALLS = [BOB, ANN, DEE, CID, EVE]


def _settings(server: EmulatorServer) -> Settings:
    env = {k.lower(): v for k, v in server.emulator.settings_env(server.url).items()}
    return Settings(_env_file=None, **env)


@pytest.fixture(scope="module")
def cf():
    with EmulatorServer(CloudflareEmulator(CALLS)) as server:
        yield server


def _cf(server, truth):
    from providers.cloudflare import CloudflareProvider

    return run(CloudflareProvider.parse([truth.uuid("peer")]), _settings(server))


def test_a_senders_bad_uplink_at_the_same_time_is_named(cf):
    verdict = _cf(cf, ANN).verdict
    loss = next(f for f in verdict.findings if f.metric == "loss_pct")
    assert loss.direction.value == RECEIVE
    assert loss.cause == "Bob's uplink: packet loss on send (audio) was 10 % at the same time"
    assert verdict.headline.endswith(
        "; likely Bob's uplink: packet loss on send (audio) was 10 % at the same time"
    )
    # Bob's own peer report was fetched for it.
    assert any(r.path.endswith("/peer-report/" + BOB.uuid("peer")) for r in cf.requests)


def test_a_clean_sender_points_at_this_participants_downlink(cf):
    verdict = _cf(cf, CID).verdict
    loss = next(f for f in verdict.findings if f.metric == "loss_pct")
    assert loss.cause == "this participant's downlink (Dee's uplink stayed clean then)"
    assert "Likely cause: this participant's downlink (Dee's" in loss.text


def test_a_sender_that_cannot_be_fetched_still_answers_and_says_so(cf):
    outcome = _cf(cf, EVE)
    loss = next(f for f in outcome.verdict.findings if f.metric == "loss_pct")
    assert loss.cause == "this participant's downlink (or the senders' uplinks)"
    assert any("could not be checked (1 could not be fetched)" in n for n in outcome.verdict.notes)


def test_no_sender_is_fetched_when_the_receive_side_was_fine(cf):
    cf.emulator.requests.clear()
    _cf(cf, DEE)
    assert len(cf.requests) == 1


def test_videosdk_checks_the_other_participants_of_the_session():
    with EmulatorServer(VideoSDKEmulator([BOB, ANN])) as server:
        lookup = VideoSDKProvider.parse([SHARED_SESSION, participant_id(ANN)])
        verdict = run(lookup, _settings(server)).verdict
    loss = next(f for f in verdict.findings if f.metric == "loss_pct")
    assert loss.cause.startswith("Bob's uplink: packet loss on send")


def test_compare_uses_the_same_attribution(cf):
    ann, bob = _cf(cf, ANN), _cf(cf, BOB)
    lines = between("Ann", ann.verdict, "Bob", bob.verdict)
    assert lines == [
        "Ann's packet loss on receive lines up with Bob's uplink: packet loss on send (audio) "
        "was 10 % at the same time."
    ]
    cid, dee = _cf(cf, CID), _cf(cf, DEE)
    assert between("Cid", cid.verdict, "Dee", dee.verdict) == [
        "Cid's packet loss on receive is not Dee's doing: Dee's uplink stayed clean then."
    ]
    # Grading is pure: comparing does not change either verdict.
    assert grade(ann.report).headline.split(";")[0] == ann.verdict.headline.split(";")[0]
