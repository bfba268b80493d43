"""Stream Video provider against the loopback Stream emulator (real HTTP, recorded requests)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from bot.config import Settings
from providers.emulators.stream import API_KEY, API_SECRET, StreamEmulator, api_error
from providers.errors import (
    AuthError,
    BadResponseError,
    ConfigError,
    InputError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from providers.http import RetryPolicy
from providers.models import Direction, EventKind, Listing, Media, Metric, Report
from providers.sandbox import EmulatorServer, Recorded
from providers.scenarios import VIDEO, CallTruth, generate, scenarios
from providers.stream import StreamProvider
from providers.stream_normalize import Metrics, normalize

FIXTURES = Path(__file__).parent / "fixtures" / "stream"
METRICS_PATH = "/details/track"
MINUTE = ["since", "2026-11-20T14:00:00Z", "until", "2026-11-20T14:01:00Z"]  # healthy's start


class Env:
    """A running emulator and a way to build clients for it that record their sleeps."""

    def __init__(self, server: EmulatorServer):
        self.server = server
        self.emulator: StreamEmulator = server.emulator  # type: ignore[assignment]
        self.sleeps: list[float] = []

    def provider(self, key: str = API_KEY, secret: str = API_SECRET, **kw) -> StreamProvider:
        retry = RetryPolicy(sleep=self.sleeps.append)
        return StreamProvider(key, secret, base_url=self.server.url, retry=retry, **kw)

    def fetch(self, *words: str, **kw) -> Report | Listing:
        provider = self.provider(**kw)
        try:
            return provider.fetch(StreamProvider.parse(list(words)))
        finally:
            provider.close()

    def truth(self, key: str) -> CallTruth:
        return next(t for t in self.emulator.calls if t.key == key)

    def metric_requests(self) -> list[Recorded]:
        return [r for r in self.emulator.requests if r.path.endswith(METRICS_PATH)]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(StreamEmulator(scenarios())) as server:
        yield server


@pytest.fixture(scope="module")
def long_server() -> Iterator[EmulatorServer]:
    # Two hours at one sample per 30 s: four 30-minute requests.
    calls = [generate("healthy", duration_s=7200, interval_s=30)]
    with EmulatorServer(StreamEmulator(calls)) as server:
        yield server


@pytest.fixture
def env(server) -> Env:
    server.emulator.reset()
    return Env(server)


@pytest.fixture
def long_env(long_server) -> Env:
    long_server.emulator.reset()
    return Env(long_server)


def _full(env: Env, key: str) -> list[str]:
    t = env.truth(key)
    call = f"default:{t.key}"
    return [call, t.uuid("stream-session"), t.profile.user_id, t.uuid("stream-user-session")]


def _window_of(req: Recorded) -> tuple[datetime, datetime]:
    since, until = req.param("since"), req.param("until")
    assert since and until
    return datetime.fromisoformat(since), datetime.fromisoformat(until)


# --- parsing ------------------------------------------------------------------------------------


def test_command_forms():
    short = StreamProvider.parse(["default:abc", "user-1"])
    assert (short.kind, short.id_map) == (
        "resolve",
        {"call_type": "default", "call_id": "abc", "user_id": "user-1"},
    )
    assert short.window is None and short.window_text is None
    assert short.command() == "stream default:abc user-1"

    full = StreamProvider.parse(["livestream:x", "sess", "u", "us", "last", "10m"])
    assert full.kind == "participant"
    assert full.id_map == {
        "call_type": "livestream",
        "call_id": "x",
        "session_id": "sess",
        "user_id": "u",
        "user_session_id": "us",
    }
    assert (full.window, full.window_text) == (None, "last 10m")
    assert full.args == ("livestream:x", "sess", "u", "us", "last", "10m")

    since = StreamProvider.parse(
        ["default:abc", "last", "since", "2026-11-20T14:00:00Z", "until", "2026-11-20T14:45:00Z"]
    )
    assert since.id_map["user_id"] == "last"  # a user may be called "last"
    assert since.window == (
        datetime(2026, 11, 20, 14, tzinfo=UTC),
        datetime(2026, 11, 20, 14, 45, tzinfo=UTC),
    )

    listing = StreamProvider.parse(["session", "default:abc", "s-1"])
    assert (listing.kind, listing.id_map["session_id"]) == ("session", "s-1")


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["default-abc", "user"],  # no type:id
        [":abc", "user"],
        ["default:", "user"],
        ["default:abc"],
        ["default:abc", "s", "u"],
        ["default:abc", "s", "u", "us", "extra"],
        ["default:../admin", "user"],
        ["default:abc", "us/er"],
        ["default:abc", "user name"],
        ["t" * 65 + ":abc", "user"],
        ["default:" + "c" * 65, "user"],
        ["default:abc", "s" * 65, "u", "us"],
        ["default:abc", "u" * 257],
        ["default:abc", "s", "u", "x" * 257],
        ["default:abc", "user", "last", "25h"],
        ["default:abc", "user", "since", "2026-11-20T14:00:00Z", "until", "2026-11-20T13:00:00Z"],
        ["default:abc", "user", "since", "2026-11-20T14:00:00Z", "until", "2026-11-22T14:00:00Z"],
        ["session"],
        ["session", "default:abc", "s", "extra"],
    ],
)
def test_bad_ids_and_windows_are_input_errors_and_send_nothing(env, words):
    from bot.commands import parse

    with pytest.raises(InputError):
        parse(" ".join(["stream", *map(repr, words)]) if words else "stream ''")
    with pytest.raises(InputError):
        StreamProvider.parse(words)
    assert env.emulator.requests == []


def test_limits_are_exact():
    at_limit = ["t" * 64 + ":" + "c" * 64, "s" * 64, "u" * 256, "x" * 256]
    lookup = StreamProvider.parse(at_limit)
    assert lookup.id_map["user_id"] == "u" * 256 and lookup.id_map["session_id"] == "s" * 64
    for i, word in enumerate(at_limit):
        over = list(at_limit)
        over[i] = word + "c"  # one character past that id's limit
        with pytest.raises(InputError):
            StreamProvider.parse(over)


def test_missing_settings_are_named():
    with pytest.raises(ConfigError) as err:
        StreamProvider.from_settings(Settings(_env_file=None, stream_api_key="k"))
    assert err.value.missing == ["STREAM_API_SECRET"]
    with pytest.raises(ConfigError) as err:
        StreamProvider.from_settings(Settings(_env_file=None))
    assert err.value.missing == ["STREAM_API_KEY", "STREAM_API_SECRET"]
    assert "STREAM_API_KEY, STREAM_API_SECRET" in str(err.value)


# --- auth ---------------------------------------------------------------------------------------


def test_every_request_carries_key_and_the_same_bare_server_token(env):
    settings = Settings(
        _env_file=None,
        **{k.lower(): v for k, v in env.emulator.settings_env(env.server.url).items()},
    )
    provider = StreamProvider.from_settings(settings)
    try:
        report = provider.fetch(StreamProvider.parse(["default:healthy", "user-ada"]))
    finally:
        provider.close()
    assert isinstance(report, Report)
    reqs = env.emulator.requests
    assert len(reqs) == 3  # call, attendance, one window of metrics
    tokens = {r.headers["authorization"] for r in reqs}
    assert len(tokens) == 1
    token = tokens.pop()
    assert not token.lower().startswith("bearer")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert jwt.decode(token, API_SECRET, algorithms=["HS256"]) == {"server": True}
    assert all(r.param("api_key") == API_KEY for r in reqs)
    assert all(r.headers["stream-auth-type"] == "jwt" for r in reqs)
    assert provider.token == token  # cached, not re-signed per request


def test_the_emulator_refuses_a_bearer_prefix_and_a_wrong_key(env):
    token = jwt.encode({"server": True}, API_SECRET, algorithm="HS256")
    url = env.server.url + "/api/v2/video/call/default/healthy"
    good = {"Stream-Auth-Type": "jwt", "Authorization": token}
    assert httpx.get(url, params={"api_key": API_KEY}, headers=good).status_code == 200
    bearer = httpx.get(
        url, params={"api_key": API_KEY}, headers={**good, "Authorization": f"Bearer {token}"}
    )
    assert bearer.status_code == 401
    assert set(bearer.json()) >= {"code", "message", "StatusCode", "duration", "more_info"}
    assert bearer.json()["StatusCode"] == 401
    assert httpx.get(url, params={"api_key": "other"}, headers=good).status_code == 401
    no_type = httpx.get(url, params={"api_key": API_KEY}, headers={"Authorization": token})
    assert no_type.status_code == 401


@pytest.mark.parametrize(
    ("key", "secret"),
    [(API_KEY, "wrong-secret-0123456789abcdef0123456789"), ("wrong-key", API_SECRET)],
)
def test_refused_credentials_are_an_auth_error_without_secrets(env, key, secret):
    with pytest.raises(AuthError) as err:
        env.fetch("default:healthy", "user-ada", key=key, secret=secret)
    text = str(err.value)
    assert "STREAM_API_KEY" in text and "STREAM_API_SECRET" in text
    assert secret not in text and API_SECRET not in text
    assert err.value.status == 401
    assert len(env.emulator.requests) == 1  # never retried


# --- windows ------------------------------------------------------------------------------------


def test_a_long_session_is_fetched_in_adjacent_windows_and_merged(long_env):
    env = long_env
    truth = env.truth("healthy")
    report = env.fetch("default:healthy", "user-ada")
    assert isinstance(report, Report)
    windows = [_window_of(r) for r in env.metric_requests()]
    windows.sort()
    assert len(windows) == 4
    assert windows[0][0] == truth.start and windows[-1][1] == truth.end
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(b - a <= timedelta(minutes=30) for a, b in windows)
    assert (report.window_start, report.window_end) == (truth.start, truth.end)
    fps = report.get(Media.VIDEO, Direction.SEND, Metric.FPS)
    assert fps is not None
    assert fps.times == truth.times()  # every sample once, in order, nothing lost at the edges
    want = truth.tracks[(VIDEO, "send")]["fps"]
    assert fps.values == [round(v, 2) for v in want]
    assert env.emulator.max_in_flight <= 4


def test_requests_run_in_parallel_within_the_bound(long_env):
    env = long_env
    env.emulator.delay_s = 0.05  # long enough for the four window requests to overlap
    env.fetch("default:healthy", "user-ada")
    assert 2 <= env.emulator.max_in_flight <= 4


def test_exactly_thirty_minutes_is_one_request_and_one_more_second_is_two(long_env):
    env = long_env
    words = _full(env, "healthy")
    env.fetch(*words, "since", "2026-11-20T14:00:00Z", "until", "2026-11-20T14:30:00Z")
    assert len(env.metric_requests()) == 1
    env.emulator.requests.clear()
    report = env.fetch(*words, "since", "2026-11-20T14:00:00Z", "until", "2026-11-20T14:30:01Z")
    reqs = env.metric_requests()
    assert sorted(_window_of(r)[1] - _window_of(r)[0] for r in reqs) == [
        timedelta(seconds=1),
        timedelta(minutes=30),
    ]
    assert isinstance(report, Report)
    assert report.window_end == datetime(2026, 11, 20, 14, 30, 1, tzinfo=UTC)
    fps = report.get(Media.VIDEO, Direction.SEND, Metric.FPS)
    assert fps is not None and len(fps.times) == 61  # 14:00:00 .. 14:30:00 every 30 s
    # An explicit window on the full form needs no attendance lookup.
    assert all(r.path.endswith(METRICS_PATH) for r in env.emulator.requests)


def test_last_is_the_end_of_the_session(long_env):
    env = long_env
    truth = env.truth("healthy")
    report = env.fetch("default:healthy", "user-ada", "last", "45m")
    assert isinstance(report, Report)
    assert report.window_end == truth.end
    assert report.window_start == truth.end - timedelta(minutes=45)
    assert len(env.metric_requests()) == 2
    bitrate = report.get(Media.VIDEO, Direction.SEND, Metric.BITRATE)
    assert bitrate is not None and bitrate.times[0] == report.window_start.timestamp()


def test_the_emulator_rejects_a_window_our_client_never_sends(long_env):
    env = long_env
    provider = env.provider()
    truth = env.truth("healthy")
    path = (
        f"{env.server.url}/api/v2/video/call/default/healthy/session/{truth.uuid('stream-session')}"
        f"/participant/user-ada/{truth.uuid('stream-user-session')}/details/track"
    )
    params = {
        "api_key": API_KEY,
        "since": "2026-11-20T14:00:00.000Z",
        "until": "2026-11-20T14:30:00.001Z",
    }
    headers = {"Stream-Auth-Type": "jwt", "Authorization": provider.token}
    resp = httpx.get(path, params=params, headers=headers)
    provider.close()
    assert resp.status_code == 400
    assert "30 minutes" in resp.json()["message"]
    assert resp.headers["x-ratelimit-limit"] == "1000"
    # And the client, over a whole 2-hour session, never asked for more than 30 minutes.
    env.emulator.requests.clear()
    env.fetch("default:healthy", "user-ada")
    assert all(b - a <= timedelta(minutes=30) for a, b in map(_window_of, env.metric_requests()))


def test_a_400_from_the_api_is_a_bad_response_with_its_message(env):
    env.emulator.faults.append((400, {}, api_error(400, 4, "the time window is too long")[1]))
    with pytest.raises(BadResponseError) as err:
        env.fetch(*_full(env, "healthy"), "last", "5m")
    assert "the time window is too long" in str(err.value) and err.value.status == 400


def test_without_attendance_the_default_minute_finds_the_session(env):
    truth = env.truth("cpu-limited")
    data = env.emulator.rendered(truth)
    main = truth.uuid("stream-user-session")
    # Attendance is not real-time: the row may be missing while metrics exist.
    del data["sessions"][main]
    try:
        report = env.fetch(*_full(env, "cpu-limited"))
        reqs = env.metric_requests()
    finally:
        env.emulator.reset()  # render the call afresh for the next test
    assert isinstance(report, Report)
    assert reqs[0].param("since") is None and reqs[0].param("until") is None
    assert report.window_start == truth.start
    assert report.window_end == truth.end - timedelta(seconds=truth.interval_s) + timedelta(
        seconds=1
    )
    fps = report.get(Media.VIDEO, Direction.SEND, Metric.FPS)
    assert fps is not None and fps.times == truth.times()


# --- attendance ---------------------------------------------------------------------------------


def test_short_form_resolves_the_only_session(env):
    truth = env.truth("healthy")
    report = env.fetch("default:healthy", "user-ada")
    assert isinstance(report, Report)
    assert report.ids["session_id"] == truth.uuid("stream-session")
    assert report.ids["user_session_id"] == truth.uuid("stream-user-session")
    assert report.ids["call_cid"] == "default:healthy"
    att = [r for r in env.emulator.requests if r.path.endswith("/participant_sessions")]
    assert len(att) == 1
    assert json.loads(att[0].param("filter_conditions") or "") == {"user_id": {"$eq": "user-ada"}}
    assert att[0].param("limit") == "100"
    assert report.participant.joined_at == truth.start
    assert report.participant.left_at == truth.end
    assert report.participant.duration_s == truth.duration_s
    assert [e.kind for e in report.events] == [EventKind.JOIN, EventKind.LEAVE]


def test_short_form_tolerates_a_call_with_only_current_session_id(env):
    report = env.fetch("default:sparse", "user-katherine")
    assert isinstance(report, Report)
    assert report.ids["session_id"] == env.truth("sparse").uuid("stream-session")


def test_a_rejoin_makes_the_short_form_list_candidates_with_exact_commands(env):
    truth = env.truth("turn-tcp")
    listing = env.fetch("default:turn-tcp", "user-margaret", "last", "2m")
    assert isinstance(listing, Listing)
    assert env.metric_requests() == []
    session = truth.uuid("stream-session")
    main = truth.uuid("stream-user-session")
    dropped = truth.uuid("stream-user-session-dropped")
    assert [r.id for r in listing.rows] == [dropped, main]  # by join time
    assert [r.command for r in listing.rows] == [
        f"stream default:turn-tcp {session} user-margaret {dropped} last 2m",
        f"stream default:turn-tcp {session} user-margaret {main} last 2m",
    ]
    assert listing.rows[1].joined_at == truth.start
    assert listing.rows[1].left_at == truth.end
    assert listing.rows[0].duration_s == 180
    assert "user-margaret" in listing.title
    # The listed command works as written.
    env.emulator.requests.clear()
    report = env.fetch(*listing.rows[1].command.split()[1:])
    assert isinstance(report, Report)
    assert report.ids["user_session_id"] == main
    assert report.window_end == truth.end and report.window_start == truth.end - timedelta(
        minutes=2
    )


def test_a_user_not_in_the_session_is_not_found(env):
    with pytest.raises(NotFoundError) as err:
        env.fetch("default:healthy", "user-nobody")
    assert "user-nobody" in str(err.value) and "no session" in str(err.value)
    assert env.metric_requests() == []


def test_session_listing_follows_the_cursor(env):
    env.emulator.page_size = 1
    truth = env.truth("turn-tcp")
    listing = env.fetch("session", "default:turn-tcp")
    assert isinstance(listing, Listing)
    assert listing.total == 3
    assert {r.name for r in listing.rows} == {"user-margaret", "user-host"}
    pages = [r for r in env.emulator.requests if r.path.endswith("/participant_sessions")]
    assert [p.param("next") for p in pages] == [None, "page-1", "page-2"]
    host = next(r for r in listing.rows if r.name == "user-host")
    session = truth.uuid("stream-session")
    assert host.command == (
        f"stream default:turn-tcp {session} user-host {truth.uuid('stream-host-session')}"
    )
    given = env.fetch("session", "default:turn-tcp", session)
    assert isinstance(given, Listing) and len(given.rows) == 3


def test_endless_cursors_stop(env, monkeypatch):
    monkeypatch.setattr("providers.stream.MAX_PAGES", 2)
    env.emulator.page_size = 1
    listing = env.fetch("session", "default:turn-tcp")
    assert isinstance(listing, Listing)
    assert len(listing.rows) == 2 and listing.notes


# --- normalization ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["healthy", "receive-loss", "cpu-limited", "turn-tcp", "sparse"])
def test_every_scenario_reads_back_its_published_truth(env, key):
    truth = env.truth(key)
    words = _full(env, key) if key == "turn-tcp" else [f"default:{key}", truth.profile.user_id]
    report = env.fetch(*words)
    assert isinstance(report, Report)
    for media in ("audio", "video"):
        want = truth.tracks[(media, "send")]["bitrate_kbps"]
        got = report.get(Media(media), Direction.SEND, Metric.BITRATE)
        assert got is not None
        # Timestamps came as ms, ns, s or ISO depending on the scenario; all read the same.
        assert got.times == truth.times()
        pairs = [(g, w) for g, w in zip(got.values, want, strict=True) if w is not None]
        assert pairs and all(g == pytest.approx(w, abs=0.01) for g, w in pairs)  # kbps
    assert not report.find(direction=Direction.RECEIVE)
    assert report.missing == [
        "packet loss",
        "jitter",
        "round-trip time",
        "what this participant received",
    ]
    assert report.network.ip == truth.profile.ip
    dumped = report.model_dump_json(exclude={"network": {"ip"}})
    assert truth.profile.ip not in dumped


def test_cpu_limited_warning_becomes_an_event(env):
    truth = env.truth("cpu-limited")
    report = env.fetch("default:cpu-limited", "user-linus")
    assert isinstance(report, Report)
    warnings = [e for e in report.events if e.kind == EventKind.WARNING]
    first_cpu = truth.times()[truth.limitation.index("cpu")]
    assert [(e.time.timestamp(), e.text) for e in warnings] == [
        (first_cpu, "video: Video quality is limited by the CPU")
    ]
    assert report.limitations == []  # one warning is a moment, not a limited call
    assert report.client.browser == "Firefox" and report.client.browser_version == "125.0"
    assert (report.network.network_type, report.network.city) == ("ethernet", "Helsinki")
    assert report.network.country == "FI"


def test_warnings_repeated_in_every_window_are_kept_once():
    raw = json.loads((FIXTURES / "metrics_screenshare.json").read_text())
    t0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
    w1, w2 = (t0, t0 + timedelta(seconds=5)), (t0 + timedelta(seconds=5), t0 + timedelta(minutes=1))
    ids = {"call_type": "default", "call_id": "c", "session_id": "s", "user_id": "user-ada"}
    chunks = [(w1, Metrics.model_validate(raw)), (w2, Metrics.model_validate(raw))]
    report = normalize(chunks, ids={**ids, "user_session_id": "us-1"}, window=(t0, w2[1]))
    assert len([e for e in report.events if e.kind == EventKind.WARNING]) == 1
    bitrate = report.get(Media.SCREEN_VIDEO, Direction.SEND, Metric.BITRATE)
    assert bitrate is not None
    assert bitrate.points() == [(t0.timestamp(), 2400.0), (t0.timestamp() + 5, 2600.0)]


def test_fixture_tracks_map_to_media_and_units():
    raw = json.loads((FIXTURES / "metrics_screenshare.json").read_text())
    t0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
    window = (t0, t0 + timedelta(minutes=1))
    ids = {"call_type": "default", "call_id": "c", "session_id": "s", "user_id": "user-ada"}
    report = normalize([(window, Metrics.model_validate(raw))], ids=ids, window=window)
    got = {(s.media, s.metric): s for s in report.series}
    assert set(got) == {
        (Media.SCREEN_VIDEO, Metric.BITRATE),
        (Media.SCREEN_VIDEO, Metric.FPS),
        (Media.SCREEN_VIDEO, Metric.WIDTH),
        (Media.SCREEN_VIDEO, Metric.HEIGHT),
        (Media.SCREEN_AUDIO, Metric.BITRATE),
    }  # unknown track types and unreadable points are dropped, not fatal
    screen = got[(Media.SCREEN_VIDEO, Metric.BITRATE)]
    assert screen.values == [2400.0, 2600.0, None]  # bit/s -> kbps, null kept as a gap
    assert screen.track_id == "t-screen"
    assert got[(Media.SCREEN_AUDIO, Metric.BITRATE)].values == [64.5, 63.0]  # already kbps
    assert got[(Media.SCREEN_VIDEO, Metric.HEIGHT)].points() == [(t0.timestamp(), 1080.0)]
    assert all(s.direction == Direction.SEND for s in report.series)
    assert report.participant.joined_at == t0  # nanoseconds
    assert (report.client.sdk_name, report.client.sdk_version) == ("stream-react-native", "1.10.4")
    assert report.client.browser is None
    assert (report.network.city, report.network.region, report.network.country) == (
        "Porto",
        "Porto",
        "PT",
    )
    warning = next(e for e in report.events if e.kind == EventKind.WARNING)
    assert warning.time == t0 + timedelta(seconds=4.5)
    assert "limited by bandwidth" in warning.text


def test_no_stats_is_an_empty_report_that_says_so(env):
    report = env.fetch("default:no-stats", "user-alan")
    assert isinstance(report, Report)
    assert report.series == [] and not report.has_stats
    assert any("no published-track statistics" in n for n in report.notes)


# --- errors -------------------------------------------------------------------------------------


def test_unknown_call_and_participant_session_are_not_found(env):
    with pytest.raises(NotFoundError) as err:
        env.fetch("default:nope", "user-ada")
    assert "default:nope" in str(err.value)
    with pytest.raises(NotFoundError):
        env.fetch("default:healthy", "s-unknown", "user-ada", "us", "last", "5m")
    t = env.truth("healthy")
    with pytest.raises(NotFoundError) as err:
        env.fetch(
            "default:healthy", t.uuid("stream-session"), "user-ada", "us-unknown", "last", "5m"
        )
    assert "us-unknown" in str(err.value)


def test_rate_limit_waits_for_retry_after_then_succeeds(env):
    body = api_error(429, 9, "Too many requests")[1]
    env.emulator.faults.append((429, {"Retry-After": "2"}, body))
    report = env.fetch(*_full(env, "healthy"), "last", "1m")
    assert isinstance(report, Report)
    assert env.sleeps == [2.0]


def test_rate_limit_falls_back_to_the_reset_header(env):
    body = api_error(429, 9, "Too many requests")[1]
    reset = str(int(time.time()) + 3)
    env.emulator.faults.append(
        (429, {"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"}, body)
    )
    env.fetch(*_full(env, "healthy"), "last", "1m")
    assert len(env.sleeps) == 1 and 1.0 <= env.sleeps[0] <= 3.0


def test_a_long_rate_limit_is_reported_not_waited(env):
    body = api_error(429, 9, "Too many requests")[1]
    env.emulator.faults.append((429, {"Retry-After": "120"}, body))
    with pytest.raises(RateLimitedError) as err:
        env.fetch(*_full(env, "healthy"), "last", "1m")
    assert err.value.retry_after == 120 and "120 s" in str(err.value)
    assert env.sleeps == []


def test_server_errors_are_retried(env):
    env.emulator.faults.extend([(500, {}, {"message": "boom"}), (503, {}, "")])
    report = env.fetch(*_full(env, "healthy"), "last", "1m")
    assert isinstance(report, Report) and len(env.sleeps) == 2
    env.emulator.faults.extend([(500, {}, {"message": "boom"})] * 3)
    with pytest.raises(UnavailableError) as err:
        env.fetch(*_full(env, "healthy"), "last", "1m")
    assert "Tried 3 times" in str(err.value)


@pytest.mark.parametrize(
    "body", ["<html>gateway</html>", {"published_tracks": "not a list"}, ["a", "list"]]
)
def test_bodies_we_cannot_read_are_bad_responses(env, body):
    env.emulator.faults.append((200, {}, body))
    with pytest.raises(BadResponseError):
        env.fetch(*_full(env, "healthy"), *MINUTE)
    assert len(env.metric_requests()) == 1


def test_a_call_answer_without_a_session(env):
    env.emulator.faults.append((200, {}, {"call": {"id": "healthy"}, "duration": "1ms"}))
    with pytest.raises(NotFoundError) as err:
        env.fetch("default:healthy", "user-ada")
    assert "no session" in str(err.value)


def test_rate_limit_headers_on_every_answer(env):
    env.fetch("default:healthy", "user-ada")
    provider = env.provider()
    resp = httpx.get(env.server.url + "/api/v2/video/call/default/nope", params={"api_key": "x"})
    provider.close()
    assert resp.status_code == 401
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(resp.headers)
    assert int(resp.headers["x-ratelimit-remaining"]) < 1000


def test_demo_lookups_are_valid_commands(env):
    pairs = env.emulator.demo_lookups()
    assert [t.key for _w, t in pairs] == [t.key for t in env.emulator.calls]
    for words, truth in pairs:
        lookup = StreamProvider.parse(words[1:])
        assert lookup.kind == ("participant" if truth.key == "turn-tcp" else "resolve")
        assert lookup.id_map["user_id"] == truth.profile.user_id
