"""VideoSDK: the server token, command parsing and id checks, settings, and the parsing of
documented response shapes (served from fixtures by a loopback server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from bot.config import Settings
from providers import videosdk_raw as raw
from providers.base import Lookup
from providers.emulators.videosdk import API_KEY, SECRET, VideoSDKEmulator
from providers.errors import BadResponseError, ConfigError, InputError
from providers.models import Direction, Media, Metric, Report
from providers.sandbox import EmulatorServer
from providers.videosdk import TokenSource, VideoSDKProvider
from providers.videosdk_normalize import COUNT, PERCENT, loss_unit, normalize


@pytest.fixture(scope="module")
def shared_server():
    # One server per module: stopping one waits out the server's poll interval.
    with EmulatorServer(VideoSDKEmulator(calls=[])) as srv:
        yield srv


@pytest.fixture
def server(shared_server):
    shared_server.emulator.requests.clear()
    shared_server.emulator.faults.clear()
    return shared_server


FIXTURES = Path(__file__).parent / "fixtures" / "videosdk"
KEY = "test-videosdk-api-key"
SECRET_32 = "test-videosdk-secret-0123456789abcdef0123456789"
T0 = 1_800_000_000.0


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def decode(token: str, secret: str = SECRET_32) -> dict:
    return jwt.decode(
        token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )


# --- token -------------------------------------------------------------------------------------


def test_token_is_signed_with_the_secret_and_carries_the_v2_server_claims():
    token = TokenSource(KEY, SECRET_32, clock=Clock()).token()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert decode(token) == {
        "apikey": KEY,
        "permissions": ["allow_join", "allow_mod"],
        "version": 2,
        "roles": ["crawler"],
        "iat": int(T0),
        "exp": int(T0) + 600,
    }
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, "another-secret-of-thirty-two-bytes-or-more")


def test_token_is_cached_until_a_minute_before_expiry_then_renewed():
    clock = Clock()
    source = TokenSource(KEY, SECRET_32, clock=clock)
    first = source.token()
    clock.now = T0 + 539  # 61 s left: still good
    assert source.token() == first
    clock.now = T0 + 541  # 59 s left: renew before a request can race the expiry
    second = source.token()
    assert second != first
    assert decode(second)["iat"] == int(T0) + 541
    assert decode(second)["exp"] == int(T0) + 541 + 600
    clock.now = T0 + 600
    assert source.token() == second


def test_token_source_does_not_show_the_secret():
    assert SECRET_32 not in repr(TokenSource(KEY, SECRET_32))


# --- parse and ids -----------------------------------------------------------------------------


def test_parse_participant_and_session_forms():
    lookup = VideoSDKProvider.parse(["62d13ccea0f6ac85649d7931", "fj9jxhtw"])
    assert lookup == Lookup(
        "videosdk",
        "participant",
        (("session", "62d13ccea0f6ac85649d7931"), ("participant", "fj9jxhtw")),
        args=("62d13ccea0f6ac85649d7931", "fj9jxhtw"),
    )
    assert lookup.command() == "videosdk 62d13ccea0f6ac85649d7931 fj9jxhtw"
    listing = VideoSDKProvider.parse(["Session", "62d13ccea0f6ac85649d7931"])
    assert listing.kind == "session"
    assert listing.id_map == {"session": "62d13ccea0f6ac85649d7931"}
    assert listing.command() == "videosdk Session 62d13ccea0f6ac85649d7931"


@pytest.mark.parametrize("words", [[], ["62d13ccea0f6ac85649d7931"], ["a", "b", "c"], ["session"]])
def test_wrong_number_of_ids_lists_the_forms(words):
    with pytest.raises(InputError) as err:
        VideoSDKProvider.parse(words)
    assert "videosdk <session_id> <participant_id>" in str(err.value)
    assert "videosdk session <session_id>" in str(err.value)


def test_a_lone_session_id_is_pointed_at_the_listing():
    with pytest.raises(InputError, match="videosdk session 62d13ccea0f6ac85649d7931"):
        VideoSDKProvider.parse(["62d13ccea0f6ac85649d7931"])


BAD_IDS = ["", "a/b", "..", "a..b", "with space", "tab\there", "x" * 65, "%2e%2e", "a\\b"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_are_refused_before_any_request(server, bad):
    with pytest.raises(InputError):
        VideoSDKProvider.parse([bad, "fj9jxhtw"])
    with pytest.raises(InputError):
        VideoSDKProvider.parse(["62d13ccea0f6ac85649d7931", bad])
    with pytest.raises(InputError):
        VideoSDKProvider.parse(["session", bad])
    # A Lookup built by hand is checked again by fetch: nothing reaches the server.
    provider = VideoSDKProvider(API_KEY, SECRET, base_url=server.url)
    for ids, kind in (
        ((("session", bad), ("participant", "fj9jxhtw")), "participant"),
        ((("session", "62d13ccea0f6ac85649d7931"), ("participant", bad)), "participant"),
        ((("session", bad),), "session"),
    ):
        with pytest.raises(InputError):
            provider.fetch(Lookup("videosdk", kind, ids))
    provider.close()
    assert server.requests == []


def test_64_character_ids_are_accepted():
    assert VideoSDKProvider.parse(["s" * 64, "p" * 64]).id_map == {
        "session": "s" * 64,
        "participant": "p" * 64,
    }


# --- settings ----------------------------------------------------------------------------------


def test_from_settings_names_the_missing_variables():
    with pytest.raises(ConfigError) as err:
        VideoSDKProvider.from_settings(
            Settings(_env_file=None, videosdk_api_key=None, videosdk_secret_key=None)
        )
    assert err.value.missing == ["VIDEOSDK_API_KEY", "VIDEOSDK_SECRET_KEY"]
    assert "VIDEOSDK_API_KEY, VIDEOSDK_SECRET_KEY" in str(err.value)
    with pytest.raises(ConfigError) as err:
        VideoSDKProvider.from_settings(
            Settings(_env_file=None, videosdk_api_key=KEY, videosdk_secret_key=None)
        )
    assert err.value.missing == ["VIDEOSDK_SECRET_KEY"]
    assert KEY not in str(err.value)


# --- documented shapes, served over loopback ----------------------------------------------------


def fetch_report(server: EmulatorServer, body) -> Report:
    """Serve `body` once as the stats answer and fetch it through the real client."""
    server.emulator.faults.append((200, {}, body))
    provider = VideoSDKProvider(KEY, SECRET_32, base_url=server.url)
    try:
        return provider.report("62d13ccea0f6ac85649d7931", "fj9jxhtw")
    finally:
        provider.close()
        [req] = server.requests
        assert req.path == "/v2/sessions/62d13ccea0f6ac85649d7931/participant/fj9jxhtw/stats"


def test_the_documented_example_normalizes_with_units(server):
    report = fetch_report(server, fixture("stats_seed.json"))
    t = datetime(2022, 7, 15, 10, 10, 18, 601000, tzinfo=UTC).timestamp()

    def only(media, direction, metric):
        series = report.get(media, direction, metric)
        assert series is not None, (media, direction, metric)
        assert series.times == [pytest.approx(t, abs=0.3)]
        return series.values[0]

    assert only(Media.AUDIO, Direction.RECEIVE, Metric.LOSS) == 0
    assert only(Media.VIDEO, Direction.SEND, Metric.LOSS) == 0
    assert only(Media.AUDIO, Direction.SEND, Metric.RTT) == pytest.approx(0.8544921875)
    assert only(Media.VIDEO, Direction.SEND, Metric.RTT) == pytest.approx(0.244140625)
    assert only(Media.VIDEO, Direction.RECEIVE, Metric.JITTER) == 2
    assert only(Media.AUDIO, Direction.SEND, Metric.BITRATE) == pytest.approx(60.218)
    assert only(Media.VIDEO, Direction.RECEIVE, Metric.BITRATE) == pytest.approx(307.229)
    # Media flowed both ways, and the API does not say which side the quality score and the
    # resolution usage describe: they are named in the notes, not graded on a guessed side.
    assert report.find(metric=Metric.SCORE) == [] and report.find(metric=Metric.HEIGHT) == []
    assert report.notes == [
        "VideoSDK's quality scores are not graded (audio: median 4.42, lowest 4.42; video: "
        "median 3.46, lowest 3.46): the API does not say whether they rate what this "
        "participant sent or received, and audio and video flowed both ways.",
        "VideoSDK's resolution usage (mostly 360p) is not graded: the API does not say whether "
        "it is the video this participant sent or received, and video flowed both ways.",
    ]
    assert report.get(Media.VIDEO, Direction.SEND, Metric.BITRATE).unit == "kbps"
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).unit == "%"
    assert report.get(Media.AUDIO, Direction.SEND, Metric.RTT).unit == "ms"
    assert len(report.series) == 12

    assert report.ids == {
        "session": "62d13ccea0f6ac85649d7931",
        "participant": "fj9jxhtw",
        "room": "61bw-723k-p4mp",
    }
    assert report.participant.display_name == "rajan"
    assert (report.client.browser, report.client.browser_version) == ("Chrome", "102.0.0.0")
    assert (report.client.sdk_name, report.client.sdk_version) == ("prebuilt", "0.3.10")
    # "unknown" is no value.
    net = report.network
    assert (net.asn, net.org, net.city, net.region, net.country) == (None,) * 5
    assert report.window_start == datetime(2022, 7, 15, 10, 10, 18, 601000, tzinfo=UTC)
    for words in ("frame rate", "ICE/relay path", "events", "join/leave times"):
        assert words in report.missing
    assert "packet loss" not in report.missing
    assert "quality score" not in report.missing and "resolution" not in report.missing


def test_missing_null_odd_and_extra_fields_are_tolerated(server):
    report = fetch_report(server, fixture("stats_missing_fields.json"))
    # Samples without a readable time are dropped; the rest are put in time order.
    t0 = datetime(2022, 7, 15, 10, 10, 18, 601000, tzinfo=UTC).timestamp()
    loss = report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS)
    assert loss.times == [pytest.approx(t0), pytest.approx(t0 + 10)]
    assert loss.values == [None, 2.5]
    assert report.get(Media.VIDEO, Direction.SEND, Metric.LOSS).values == [1.0, None]
    assert report.get(Media.AUDIO, Direction.SEND, Metric.RTT).values == [48.5, None]
    assert report.get(Media.AUDIO, Direction.SEND, Metric.BITRATE).values == [None, 42.0]
    # No received bitrate at all: nothing shows which side the score and resolution are of.
    assert report.find(metric=Metric.SCORE) == [] and report.find(metric=Metric.HEIGHT) == []
    assert any("quality score is not graded (audio: median 3.90" in n for n in report.notes)
    assert any("resolution usage (mostly 720p) is not graded" in n for n in report.notes)
    assert "Packet loss (audio receive) read as a percentage: its values are fractional" in (
        " ".join(report.notes)
    )
    assert report.find(metric=Metric.JITTER) == []
    assert "jitter" in report.missing
    assert "packet loss" not in report.missing
    assert report.participant.display_name is None
    assert report.participant.id == "fj9jxhtw"
    assert report.client.browser is None and report.client.sdk_name is None
    assert (report.network.asn, report.network.org) == ("AS55836", None)
    assert (report.network.country, report.network.city) == ("IN", None)


def test_loss_reported_as_counts_is_left_out_not_misread(server):
    body = fixture("stats_seed.json")
    body["stats"][0]["recvAudioPacketLost"] = 412
    body["stats"][0]["recvVideoPacketLost"] = 7
    report = fetch_report(server, body)
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS) is None
    # 7 with no packet totals beside it could be either: read as documented, and said so.
    assert report.get(Media.VIDEO, Direction.RECEIVE, Metric.LOSS).values == [7]
    assert report.notes[:2] == [
        "Packet loss (audio receive) left out: values up to 412 cannot be a percentage, and "
        "there are no packet totals to rate them.",
        "Packet loss (video receive) assumed to be a percentage: VideoSDK sent no packet "
        "totals to check it against, and whole numbers up to 7 fit either reading.",
    ]


def test_loss_counts_beside_packet_totals_become_percentages(server):
    body = fixture("stats_seed.json")
    body["stats"][0] |= {
        "recvAudioPacketLost": 5,
        "recvAudioTotalPackets": 245,  # received: 5 lost of 250 expected
        "sendVideoPacketLost": 3,
        "sendVideoPacketsSent": 600,  # sent, the lost ones among them
    }
    report = fetch_report(server, body)
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).values == [2.0]
    assert report.get(Media.VIDEO, Direction.SEND, Metric.LOSS).values == [0.5]
    assert report.notes[0] == (
        "Packet loss (audio receive, video send) read as packet counts and turned into a "
        "percentage of the packets reported beside them: whole numbers beside packet totals, "
        "as counts are (a percentage would need to have been rounded to whole percent)."
    )


def test_loss_percentages_beside_packet_totals_are_kept(server):
    body = fixture("stats_seed.json")
    body["stats"][0] |= {"recvAudioPacketLost": 2.4, "recvAudioTotalPackets": 244}  # 6 of 250
    report = fetch_report(server, body)
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).values == [2.4]
    assert report.notes[0] == (
        "Packet loss (audio receive) read as a percentage: its values are fractional, so not "
        "packet counts, and each is a whole number of the packets reported beside it."
    )


def test_more_lost_than_sent_is_a_percentage():
    assert loss_unit([0, 40, 60], [50, 30, 40], receive=False)[0] == PERCENT
    assert loss_unit([0, 4, 6], [50, 30, 40], receive=False)[0] == COUNT


def test_running_counters_are_differenced():
    counters = [(0, 250), (5, 495), (5, 745), (15, 985)]  # lost, received so far
    stats = [
        {"time": f"2022-07-15T10:10:{10 * i:02d}Z", "recvAudioPacketLost": lost}
        | {"recvAudioTotalPackets": total}
        for i, (lost, total) in enumerate(counters)
    ]
    report = normalize(raw.ParticipantStats.model_validate({"stats": stats}), "s", "p")
    loss = report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).values
    assert loss == [None, 2.0, 0.0, 4.0]
    assert "read as running packet counts" in report.notes[0]


@pytest.mark.parametrize(
    "bitrates, side",
    [
        ({"averageSendVideoBitrate": 0, "averageSendAudioBitrate": 0}, Direction.RECEIVE),
        ({"averageRecvVideoBitrate": 0, "averageRecvAudioBitrate": 0}, Direction.SEND),
    ],
)
def test_score_and_resolution_go_on_the_one_side_media_flowed(server, bitrates, side):
    body = fixture("stats_seed.json")
    body["stats"][0] |= bitrates
    report = fetch_report(server, body)
    assert report.get(Media.AUDIO, side, Metric.SCORE).values == [4.42]
    assert report.get(Media.VIDEO, side, Metric.SCORE).values == [3.46]
    assert report.get(Media.VIDEO, side, Metric.HEIGHT).values == [360]
    assert len(report.find(metric=Metric.SCORE)) == 2
    word = "received" if side == Direction.RECEIVE else "sent"
    assert (
        f"VideoSDK's resolution usage is put on {side}: only {word} video flowed" in report.notes[2]
    )


@pytest.mark.parametrize("body", [[1, 2], {"stats": "none"}, {"stats": [{"qualityScore": 3}]}])
def test_bodies_in_an_unexpected_shape_are_bad_responses(server, body):
    with pytest.raises(BadResponseError):
        fetch_report(server, body)
