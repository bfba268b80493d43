"""VideoSDK packet loss read as a percentage or as packet counts from what the response holds
(fractional values, packet totals beside the loss), through the real client over loopback with
the emulator sending percentages, percentages beside packet totals, or counts of those totals."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.lookup import run
from providers.emulators.videosdk import VideoSDKEmulator, participant_id, session_id
from providers.models import Direction, Media, Metric
from providers.sandbox import EmulatorServer
from providers.scenarios import RECEIVE, SEND, generate
from providers.videosdk import VideoSDKProvider

TRUTH = generate("receive-loss", duration_s=300, interval_s=5.0)
MODES = {
    "percent": {},
    "percent-with-totals": {"packet_totals": True},
    "counts-with-totals": {"loss_counts": True},
}


@pytest.fixture(scope="module", params=list(MODES))
def looked_up(request):
    emulator = VideoSDKEmulator([TRUTH])
    for name, value in MODES[request.param].items():
        setattr(emulator, name, value)
    with EmulatorServer(emulator) as server:
        env = {k.lower(): v for k, v in emulator.settings_env(server.url).items()}
        lookup = VideoSDKProvider.parse([session_id(TRUTH), participant_id(TRUTH)])
        yield request.param, run(lookup, Settings(_env_file=None, **env))


def test_loss_comes_out_in_percent_whatever_the_wire_unit(looked_up):
    mode, outcome = looked_up
    report = outcome.report
    for media in (Media.AUDIO, Media.VIDEO):
        for direction, side in ((Direction.RECEIVE, RECEIVE), (Direction.SEND, SEND)):
            got = report.get(media, direction, Metric.LOSS).values
            want = TRUTH.tracks[(media.value, side)]["loss_pct"]
            # Counts are whole packets of 250 (audio) or about 170 (video) per interval.
            slack = 0.01 if mode == "percent" else 0.7
            assert all(
                abs(g - w) <= slack
                for g, w in zip(got, want, strict=True)
                if g is not None and w is not None
            ), (mode, media, direction)
    assert outcome.verdict.grade == "poor"
    assert outcome.verdict.findings[0].metric == Metric.LOSS.value


def test_the_reading_is_in_the_notes(looked_up):
    mode, outcome = looked_up
    [note] = [n for n in outcome.report.notes if n.startswith("Packet loss")]
    assert note.startswith("Packet loss (audio receive, video receive, audio send, video send) ")
    if mode == "percent":
        assert "read as a percentage: its values are fractional, so not packet counts " in note
        assert "(VideoSDK sent no packet totals beside them)" in note
    elif mode == "percent-with-totals":
        assert "each is a whole number of the packets reported beside it" in note
    else:
        assert "read as packet counts and turned into a percentage of the packets" in note
