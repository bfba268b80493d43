"""VideoSDK against its loopback emulator: the exact request and token the API checks, every
error path, the paginated participant listing, and normalization against the sandbox truth."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest

from bot import commands
from bot.config import Settings
from bot.grading import Grade
from bot.lookup import run
from providers.base import get_provider_class
from providers.emulators.videosdk import (
    API_KEY,
    SECRET,
    SHARED_SESSION,
    VideoSDKEmulator,
    participant_id,
    session_id,
)
from providers.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from providers.http import RetryPolicy
from providers.models import Direction, Listing, Media, Metric, Report
from providers.sandbox import EmulatorServer
from providers.scenarios import RECEIVE, SEND, scenarios
from providers.videosdk import VideoSDKProvider

CALLS = scenarios(duration_s=300, interval_s=5.0)
TRUTH = {t.key: t for t in CALLS}


@pytest.fixture(scope="module")
def shared_server():
    # One server per module: stopping one waits out the server's poll interval.
    with EmulatorServer(VideoSDKEmulator(CALLS)) as srv:
        yield srv


@pytest.fixture
def server(shared_server):
    emu = shared_server.emulator
    emu.requests.clear()
    emu.faults.clear()
    emu.delay_s = 0.0
    emu.participants_as_array = False
    return shared_server


@pytest.fixture
def emu(server):
    return server.emulator


@pytest.fixture
def sleeps() -> list[float]:
    return []


def settings_for(srv: EmulatorServer, **overrides) -> Settings:
    values = {k.lower(): v for k, v in srv.emulator.settings_env(srv.url).items()}
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
def provider(server, sleeps):
    p = VideoSDKProvider.from_settings(
        settings_for(server), retry=RetryPolicy(attempts=3, sleep=sleeps.append)
    )
    yield p
    p.close()


def ids(key: str) -> tuple[str, str]:
    return session_id(TRUTH[key]), participant_id(TRUTH[key])


def assert_no_secret(text: str) -> None:
    assert SECRET not in text


# --- the request -------------------------------------------------------------------------------


def test_the_exact_request_and_a_token_the_api_accepts(server, provider):
    sid, pid = ids("healthy")
    report = provider.fetch(VideoSDKProvider.parse([sid, pid]))
    assert isinstance(report, Report) and report.has_stats
    [req] = server.requests
    assert req.method == "GET"
    assert req.path == f"/v2/sessions/{sid}/participant/{pid}/stats"
    assert req.query == {}
    token = req.headers["authorization"]
    assert not token.lower().startswith(("bearer", "basic"))
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["apikey"] == API_KEY and claims["version"] == 2
    assert claims["roles"] == ["crawler"]
    # The token is reused while it is fresh.
    provider.fetch(VideoSDKProvider.parse([sid, pid]))
    assert server.requests[1].headers["authorization"] == token


def test_settings_point_the_client_at_the_emulator(server):
    env = server.emulator.settings_env(server.url)
    assert env == {
        "VIDEOSDK_API_KEY": API_KEY,
        "VIDEOSDK_SECRET_KEY": SECRET,
        "VIDEOSDK_BASE_URL": server.url,
    }
    assert settings_for(server).videosdk_base_url == server.url


def test_demo_lookups_cover_every_call(emu):
    lookups = emu.demo_lookups()
    assert [truth.key for _, truth in lookups] == list(TRUTH)
    for words, truth in lookups:
        assert words == ["videosdk", session_id(truth), participant_id(truth)]
        assert VideoSDKProvider.parse(words[1:]).command() == " ".join(words)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, said",
    [
        ({"videosdk_secret_key": "a-wrong-secret-that-is-thirty-two-bytes-long"}, "Invalid token"),
        ({"videosdk_api_key": "someone-elses-key"}, "Invalid apikey"),
    ],
)
def test_a_token_the_api_rejects_is_an_auth_error_naming_the_variables(server, overrides, said):
    provider = VideoSDKProvider.from_settings(settings_for(server, **overrides))
    with pytest.raises(AuthError) as err:
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    provider.close()
    assert err.value.status == 401
    assert said in str(err.value)
    assert "VIDEOSDK_API_KEY" in str(err.value) and "VIDEOSDK_SECRET_KEY" in str(err.value)
    assert_no_secret(str(err.value))
    assert len(server.requests) == 1  # a refused token is not retried


def test_an_expired_token_is_refused_by_the_api(server):
    # A clock an hour behind mints a token that expired 50 minutes ago.
    provider = VideoSDKProvider.from_settings(
        settings_for(server), clock=lambda: time.time() - 3600
    )
    with pytest.raises(AuthError, match="Token expired"):
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    provider.close()


def test_403_is_an_auth_error(server, provider):
    server.emulator.faults.append((403, {}, {"message": "Permission denied for this API."}))
    with pytest.raises(AuthError) as err:
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    assert err.value.status == 403
    assert "refused access" in str(err.value) and "VIDEOSDK_SECRET_KEY" in str(err.value)
    assert_no_secret(str(err.value))


def test_unknown_participant_and_session_are_not_found(server, provider):
    sid, _ = ids("healthy")
    with pytest.raises(NotFoundError) as err:
        provider.fetch(VideoSDKProvider.parse([sid, "nobody99"]))
    assert "nobody99" in str(err.value) and sid in str(err.value)
    with pytest.raises(NotFoundError, match="no session `000000000000000000000000`"):
        provider.fetch(VideoSDKProvider.parse(["session", "000000000000000000000000"]))


def test_429_with_a_short_retry_after_waits_and_retries(server, provider, sleeps):
    server.emulator.faults.append((429, {"Retry-After": "2"}, {"message": "Too many requests"}))
    report = provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    assert report.has_stats
    assert sleeps == [2.0]
    assert len(server.requests) == 2


def test_429_with_a_long_retry_after_gives_up_at_once(server, provider, sleeps):
    server.emulator.faults.append((429, {"Retry-After": "120"}, {"message": "Too many requests"}))
    with pytest.raises(RateLimitedError) as err:
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    assert err.value.retry_after == 120
    assert "120 s" in str(err.value)
    assert sleeps == [] and len(server.requests) == 1


def test_500_is_retried_with_backoff_then_succeeds(server, provider, sleeps):
    server.emulator.faults += [(500, {}, {"message": "boom"}), (502, {}, "<html>bad gateway")]
    report = provider.fetch(VideoSDKProvider.parse(list(ids("receive-loss"))))
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS) is not None
    assert sleeps == [0.4, 0.8]
    assert len(server.requests) == 3


def test_500_until_the_bound_is_unavailable(server, provider, sleeps):
    server.emulator.faults += [(500, {}, {"message": "boom"})] * 3
    with pytest.raises(UnavailableError) as err:
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    assert "HTTP 500" in str(err.value) and "Tried 3 times" in str(err.value)
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_a_slow_answer_is_a_timeout(server):
    server.emulator.delay_s = 0.3
    provider = VideoSDKProvider.from_settings(
        settings_for(server, http_timeout_s=0.05), retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(UnavailableError, match="did not answer in time"):
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))
    provider.close()


def test_a_body_that_is_not_json_is_a_bad_response(server, provider):
    server.emulator.faults.append((200, {"Content-Type": "text/html"}, "<html>maintenance</html>"))
    with pytest.raises(BadResponseError, match="not JSON"):
        provider.fetch(VideoSDKProvider.parse(list(ids("healthy"))))


# --- listing -----------------------------------------------------------------------------------


def test_listing_follows_pages_and_rows_carry_their_command(server, sleeps):
    provider = VideoSDKProvider(API_KEY, SECRET, base_url=server.url, per_page=2)
    listing = provider.fetch(VideoSDKProvider.parse(["session", SHARED_SESSION]))
    assert isinstance(listing, Listing)
    assert [(r.param("page"), r.param("perPage")) for r in server.requests] == [
        ("1", "2"),
        ("2", "2"),
        ("3", "2"),
    ]
    assert all(r.path == f"/v2/sessions/{SHARED_SESSION}/participants" for r in server.requests)
    assert [row.name for row in listing.rows] == [t.profile.name for t in CALLS]
    assert listing.total == len(CALLS) and listing.notes == []
    for row, truth in zip(listing.rows, CALLS, strict=True):
        assert row.command == f"videosdk {SHARED_SESSION} {participant_id(truth)}"
    # A row's command looks that participant up.
    grace = next(r for r in listing.rows if r.name == "Grace")
    report = provider.fetch(VideoSDKProvider.parse(grace.command.split()[1:]))
    assert report.participant.display_name == "Grace"
    # A reconnect split Grace's timelog: two seconds away from the call.
    assert grace.duration_s == pytest.approx(TRUTH["receive-loss"].duration_s - 2)
    assert grace.joined_at == TRUTH["receive-loss"].start
    assert grace.left_at == TRUTH["receive-loss"].end
    provider.close()


def test_listing_stops_at_the_page_bound_and_says_so(server):
    provider = VideoSDKProvider(API_KEY, SECRET, base_url=server.url, per_page=2, max_pages=2)
    listing = provider.fetch(VideoSDKProvider.parse(["session", SHARED_SESSION]))
    provider.close()
    assert len(server.requests) == 2
    assert len(listing.rows) == 4
    assert listing.total == len(CALLS)
    assert listing.notes and "first 2 pages" in listing.notes[0]


def test_listing_of_one_call_session(server, provider):
    sid, pid = ids("cpu-limited")
    listing = provider.fetch(VideoSDKProvider.parse(["session", sid]))
    assert [(r.id, r.name, r.command) for r in listing.rows] == [
        (pid, "Linus", f"videosdk {sid} {pid}")
    ]
    assert listing.ids == {"session": sid}


def test_listing_tolerates_data_as_an_array(server, provider):
    server.emulator.participants_as_array = True
    listing = provider.fetch(VideoSDKProvider.parse(["session", SHARED_SESSION]))
    assert len(listing.rows) == len(CALLS)


def test_listing_array_fixture_keeps_our_session_and_odd_rows(server, provider):
    body = json.loads(
        (Path(__file__).parent / "fixtures" / "videosdk" / "participants_array.json").read_text()
    )
    server.emulator.faults.append((200, {}, body))
    listing = provider.fetch(VideoSDKProvider.parse(["session", "62d13ccea0f6ac85649d7931"]))
    assert [r.id for r in listing.rows] == ["fj9jxhtw", "bad/id"]
    rajan, odd = listing.rows
    assert rajan.command == "videosdk 62d13ccea0f6ac85649d7931 fj9jxhtw"
    assert rajan.left_at is None  # the second stay has no end: still in the call
    assert rajan.duration_s == 120
    assert odd.command is None  # an id our parser would refuse gets no command to copy


# --- normalization against the truth -----------------------------------------------------------


def fetch_truth(provider, key: str) -> Report:
    return provider.fetch(VideoSDKProvider.parse(list(ids(key))))


def test_receive_loss_is_sustained_8_to_15_percent_on_receive(provider):
    truth = TRUTH["receive-loss"]
    report = fetch_truth(provider, "receive-loss")
    bad = range(int(truth.n * 0.3), int(truth.n * 0.85))
    for media in (Media.AUDIO, Media.VIDEO):
        loss = report.get(media, Direction.RECEIVE, Metric.LOSS)
        assert loss.unit == "%" and loss.times == truth.times()
        assert all(8 <= loss.values[i] <= 15 for i in bad)
        assert max(v for i, v in enumerate(loss.values) if i not in bad) < 1
        assert max(report.get(media, Direction.SEND, Metric.LOSS).values) < 1
    # Media flowed both ways: the score and resolution usage are noted, not put on a side.
    assert report.find(metric=Metric.SCORE) == [] and report.find(metric=Metric.HEIGHT) == []
    assert any("resolution usage (mostly 360p) is not graded" in n for n in report.notes)
    assert report.network.org == "MEO" and report.network.country == "PT"


def test_healthy_values_match_the_truth_in_our_units(provider):
    truth = TRUTH["healthy"]
    report = fetch_truth(provider, "healthy")
    pairs = [
        (
            (Media.VIDEO, Direction.SEND, Metric.BITRATE),
            truth.tracks[("video", SEND)]["bitrate_kbps"],
        ),
        (
            (Media.AUDIO, Direction.RECEIVE, Metric.BITRATE),
            truth.tracks[("audio", RECEIVE)]["bitrate_kbps"],
        ),
        ((Media.AUDIO, Direction.SEND, Metric.RTT), truth.tracks[("audio", SEND)]["rtt_ms"]),
        (
            (Media.VIDEO, Direction.RECEIVE, Metric.JITTER),
            truth.tracks[("video", RECEIVE)]["jitter_ms"],
        ),
    ]
    for key, expected in pairs:
        got = report.get(*key).values
        assert got == pytest.approx(expected, abs=0.002), key
    assert any("resolution usage (mostly 720p) is not graded" in n for n in report.notes)
    assert report.participant.display_name == "Ada"
    assert report.client.browser == "Chrome" and report.client.sdk_name == "web-core"
    assert report.network.ip is None  # VideoSDK gives no address, and we never invent one
    assert report.window_start == truth.start
    for words in ("frame rate", "ICE/relay path", "events", "join/leave times"):
        assert words in report.missing


def test_sparse_call_keeps_gaps_and_drops_unknown_metadata(provider):
    truth = TRUTH["sparse"]
    report = fetch_truth(provider, "sparse")
    expected = truth.tracks[("audio", RECEIVE)]["loss_pct"]
    got = report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS).values
    assert [v is None for v in got] == [v is None for v in expected]
    assert report.client.browser is None and report.client.sdk_name is None
    assert report.network.org is None and report.network.country == "US"


def test_no_stats_gives_an_empty_report_that_says_why(provider):
    report = fetch_truth(provider, "no-stats")
    assert report.series == [] and not report.has_stats
    assert report.missing[0].startswith("stats")
    assert report.participant.display_name == "Alan"


def test_rendered_stats_are_cached_per_call(emu, provider, monkeypatch):
    rendered = []
    render = emu.render_stats
    monkeypatch.setattr(
        emu, "render_stats", lambda truth: rendered.append(truth.key) or render(truth)
    )
    emu._stats.pop("turn-tcp", None)
    first = fetch_truth(provider, "turn-tcp")
    second = fetch_truth(provider, "turn-tcp")
    assert rendered == ["turn-tcp"]
    assert first == second


# --- through the registry and the verdict ------------------------------------------------------


def test_the_registry_knows_videosdk_and_its_alias():
    assert get_provider_class("vs") is VideoSDKProvider
    assert get_provider_class("VideoSDK") is VideoSDKProvider


@pytest.mark.parametrize(
    "key, grade",
    [("healthy", Grade.GOOD), ("receive-loss", Grade.POOR), ("no-stats", Grade.UNKNOWN)],
)
def test_lookup_grades_the_sandbox_calls(server, key, grade):
    lookup = commands.parse("vs " + " ".join(ids(key)))
    outcome = run(lookup, settings_for(server))
    assert outcome.verdict is not None
    assert outcome.verdict.grade == grade, outcome.verdict.headline
    if key == "receive-loss":
        worst = outcome.verdict.findings[0]
        assert (worst.metric, worst.direction) == (Metric.LOSS.value, Direction.RECEIVE)
        assert "loss on receive" in outcome.verdict.headline
