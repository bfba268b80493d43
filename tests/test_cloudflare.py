"""Cloudflare RealtimeKit client over real loopback HTTP: command parsing, the exact requests,
the session + participant join, session listing pagination, and every error path."""

from __future__ import annotations

import os

import pytest

from bot.config import Settings
from providers.base import get_provider_class
from providers.cloudflare import CloudflareProvider
from providers.emulators.cloudflare import AUTH_FAILED, CloudflareEmulator
from providers.errors import (
    AuthError,
    BadResponseError,
    ConfigError,
    InputError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
)
from providers.http import RetryPolicy
from providers.models import Direction, Listing, Media, Metric, Report
from providers.sandbox import EmulatorServer, Recorded
from providers.scenarios import generate

TOKEN = "sandbox-cloudflare-token"
UNKNOWN = "3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
KEYS = ("healthy", "receive-loss", "cpu-limited", "turn-tcp", "no-stats")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("CLOUDFLARE_", "REALTIMEKIT_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def truths():
    return {key: generate(key, duration_s=120) for key in KEYS}


@pytest.fixture(scope="module")
def running(truths):
    with EmulatorServer(CloudflareEmulator(list(truths.values()))) as server:
        yield server


@pytest.fixture
def server(running):
    """The module's server with a clean slate: no recorded requests, faults or delay."""
    emulator = running.emulator
    emulator.requests.clear()
    emulator.faults.clear()
    emulator.delay_s = 0.0
    yield running
    emulator.delay_s = 0.0


def settings_for(server: EmulatorServer, **overrides) -> Settings:
    values = {k.lower(): v for k, v in server.emulator.settings_env(server.url).items()}
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make(server, sleeps):
    made: list[CloudflareProvider] = []

    def build(attempts: int = 3, **overrides) -> CloudflareProvider:
        retry = RetryPolicy(attempts=attempts, sleep=sleeps.append)
        provider = CloudflareProvider.from_settings(settings_for(server, **overrides), retry=retry)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


def fetch(provider: CloudflareProvider, *words: str):
    return provider.fetch(CloudflareProvider.parse(list(words)))


def root(server: EmulatorServer) -> str:
    creds = server.emulator.credentials()
    account, app = creds["CLOUDFLARE_ACCOUNT_ID"], creds["REALTIMEKIT_APP_ID"]
    return f"/client/v4/accounts/{account}/realtime/kit/{app}/sessions"


# --- parsing -----------------------------------------------------------------------------------


def test_registered_under_name_and_alias():
    assert get_provider_class("cloudflare") is CloudflareProvider
    assert get_provider_class("CF") is CloudflareProvider
    assert CloudflareProvider.settings_needed == (
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "REALTIMEKIT_APP_ID",
    )
    assert CloudflareProvider.parse(CloudflareProvider.example.split()[1:]).kind == "participant"


def test_parse_three_forms_and_command_repeats_them():
    peer = CloudflareProvider.parse([UNKNOWN.upper()])
    assert (peer.kind, peer.id_map) == ("participant", {"peer_id": UNKNOWN})
    assert peer.command() == f"cf {UNKNOWN}"
    sid = "11111111-2222-4333-8444-555555555555"
    joined = CloudflareProvider.parse([sid, UNKNOWN])
    assert joined.id_map == {"session_id": sid, "participant_id": UNKNOWN}
    assert joined.command() == f"cf {sid} {UNKNOWN}"
    session = CloudflareProvider.parse(["Session", sid])
    assert (session.kind, session.id_map) == ("session", {"session_id": sid})
    assert session.command() == f"cf session {sid}"


@pytest.mark.parametrize("words", [[], ["session"], [UNKNOWN, UNKNOWN, UNKNOWN]])
def test_wrong_arity_names_the_forms(words):
    with pytest.raises(InputError) as err:
        CloudflareProvider.parse(words)
    assert "cf <peer_id>" in str(err.value) and "cf session <session_id>" in str(err.value)


BAD = ["not-a-uuid", "../x", "", "x" * 5000, f"{UNKNOWN}/../../etc", UNKNOWN[:-1] + "%"]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("form", ["peer", "session", "participant", "listing"])
def test_bad_ids_are_refused_before_any_request(server, make, bad, form):
    provider = make()
    words = {
        "peer": [bad],
        "session": [bad, UNKNOWN],
        "participant": [UNKNOWN, bad],
        "listing": ["session", bad],
    }[form]
    with pytest.raises(InputError) as err:
        provider.fetch(CloudflareProvider.parse(words))
    assert len(str(err.value)) < 300  # a 5 KB id is not echoed back
    assert server.requests == []


# --- settings ----------------------------------------------------------------------------------


def test_missing_settings_name_exactly_the_missing_variables():
    settings = Settings(_env_file=None, cloudflare_api_token=TOKEN)
    with pytest.raises(ConfigError) as err:
        CloudflareProvider.from_settings(settings)
    assert err.value.missing == ["CLOUDFLARE_ACCOUNT_ID", "REALTIMEKIT_APP_ID"]
    assert "CLOUDFLARE_ACCOUNT_ID, REALTIMEKIT_APP_ID" in str(err.value)
    assert TOKEN not in str(err.value)


# --- requests ----------------------------------------------------------------------------------


def test_peer_report_is_one_exact_request(server, make, truths):
    truth = truths["receive-loss"]
    peer = truth.uuid("peer")
    report = fetch(make(), peer)
    assert isinstance(report, Report)
    (req,) = server.requests
    assert (req.method, req.path) == ("GET", f"{root(server)}/peer-report/{peer}")
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.query == {"include_peer_events": ["true"]}
    assert report.ids == {"peer_id": peer}
    assert report.participant.display_name == "Grace"
    assert report.participant.session_id == truth.uuid("session")
    assert report.get(Media.AUDIO, Direction.RECEIVE, Metric.LOSS) is not None


def test_session_and_participant_join_details_with_peer_report(server, make, truths):
    truth = truths["healthy"]
    sid, pid = truth.uuid("session"), truth.uuid("peer")
    details = {
        "success": True,
        "data": {
            "participant": {
                "id": pid,
                "display_name": "Ada (from details)",
                "preset_name": "webinar_presenter",
                "duration": 2.5,
                "peer_events": [
                    {"event_name": "PEER_JOINING", "created_at": "2026-11-20T14:00:01Z"}
                ],
            }
        },
    }
    server.emulator.faults.append((200, {}, details))  # the details call; the report is real
    report = fetch(make(), sid, pid)
    first, second = server.requests
    assert first.path == f"{root(server)}/{sid}/participants/{pid}"
    assert second.path == f"{root(server)}/peer-report/{pid}"
    assert first.param("include_peer_events") == second.param("include_peer_events") == "true"
    assert report.ids == {"session_id": sid, "participant_id": pid}
    # Identity from the details, stats and client from the peer report.
    assert report.participant.display_name == "Ada (from details)"
    assert report.participant.role == "webinar_presenter"
    assert report.participant.duration_s == 150
    assert [e.kind.value for e in report.events] == ["join"]
    assert report.client.browser == "Chrome"
    assert report.has_stats


def test_join_against_the_emulator_alone(server, make, truths):
    truth = truths["turn-tcp"]
    report = fetch(make(), truth.uuid("session"), truth.uuid("peer"))
    assert report.participant.role == "group_call_host"
    assert report.participant.display_name == "Margaret"
    assert report.network.relayed is True
    assert len(server.requests) == 2


def test_join_without_peer_report_keeps_identity_and_says_stats_are_missing(server, make):
    details = {"success": True, "data": {"participant": {"id": UNKNOWN, "display_name": "Eve"}}}
    gone = {"success": False, "error": {"code": 404, "message": "No peer found"}}
    server.emulator.faults += [(200, {}, details), (404, {}, gone)]
    report = fetch(make(), UNKNOWN, UNKNOWN)
    assert report.participant.display_name == "Eve"
    assert not report.has_stats
    assert "quality stats" in report.missing
    assert any("no peer report" in note for note in report.notes)


def test_session_listing_paginates_and_rows_carry_their_command(server, make, truths):
    provider = make()
    provider.page_size = 2
    shared = server.emulator.shared_session_id
    listing = fetch(provider, "session", shared)
    assert isinstance(listing, Listing)
    assert [r.param("page_no") for r in server.requests] == ["1", "2", "3"]
    assert {r.param("per_page") for r in server.requests} == {"2"}
    assert all(r.path == f"{root(server)}/{shared}/participants" for r in server.requests)
    assert [row.id for row in listing.rows] == [t.uuid("peer") for t in truths.values()]
    assert listing.total == len(truths) and listing.notes == []
    row = listing.rows[1]
    assert row.name == "Grace" and row.duration_s == pytest.approx(120)
    assert row.command == f"cf {shared} {row.id}"
    again = CloudflareProvider.parse(row.command.split()[1:])
    assert again.id_map == {"session_id": shared, "participant_id": row.id}


def test_session_listing_is_bounded(server, make):
    provider = make()
    provider.page_size, provider.max_pages = 1, 2
    listing = fetch(provider, "session", server.emulator.shared_session_id)
    assert len(server.requests) == 2
    assert len(listing.rows) == 2 and listing.total == len(KEYS)
    assert listing.notes == [f"Showing the first 2 of {len(KEYS)}."]


def test_own_session_lists_one_participant(server, make, truths):
    truth = truths["cpu-limited"]
    listing = fetch(make(), "session", truth.uuid("session"))
    assert [row.name for row in listing.rows] == ["Linus"]


# --- errors ------------------------------------------------------------------------------------


def raises(cls: type[ProviderError], provider: CloudflareProvider, *words: str) -> ProviderError:
    with pytest.raises(cls) as err:
        fetch(provider, *words)
    assert TOKEN not in str(err.value)
    assert err.value.provider == "cf"
    return err.value


def test_wrong_token_is_refused_by_the_gateway(server, make, truths):
    err = raises(AuthError, make(cloudflare_api_token="wrong"), truths["healthy"].uuid("peer"))
    assert err.status == 401
    assert "Authentication error" in str(err)
    assert "CLOUDFLARE_API_TOKEN" in str(err) and '"Realtime Admin"' in str(err)
    assert len(server.requests) == 1  # never retried


def test_wrong_account_is_403_and_wrong_app_is_404(server, make, truths):
    peer = truths["healthy"].uuid("peer")
    err = raises(AuthError, make(cloudflare_account_id="0" * 32), peer)
    assert err.status == 403 and "refused access" in str(err)
    err = raises(NotFoundError, make(realtimekit_app_id="other-app"), peer)
    assert "App not found" in str(err)


def test_unknown_ids_are_not_found_naming_the_id(server, make):
    err = raises(NotFoundError, make(), UNKNOWN)
    assert UNKNOWN in str(err) and "No peer found" in str(err)
    err = raises(NotFoundError, make(), "session", UNKNOWN)
    assert f"session `{UNKNOWN}`" in str(err)
    err = raises(NotFoundError, make(), server.emulator.shared_session_id, UNKNOWN)
    assert f"participant `{UNKNOWN}`" in str(err)


def test_gateway_401_body_from_canned_reply(server, make):
    server.emulator.faults.append((401, {}, AUTH_FAILED))
    err = raises(AuthError, make(), UNKNOWN)
    assert "rejected the credentials" in str(err)


def test_short_retry_after_is_waited_then_succeeds(server, make, sleeps, truths):
    server.emulator.faults.append((429, {"Retry-After": "2"}, {"message": "slow down"}))
    report = fetch(make(), truths["healthy"].uuid("peer"))
    assert report.has_stats
    assert sleeps == [2.0] and len(server.requests) == 2


def test_long_retry_after_gives_up_with_the_wait(server, make, sleeps):
    server.emulator.faults.append((429, {"Retry-After": "120"}, {"message": "slow down"}))
    err = raises(RateLimitedError, make(), UNKNOWN)
    assert err.retry_after == 120 and "120 s" in str(err)
    assert sleeps == [] and len(server.requests) == 1


def test_server_errors_are_retried_a_bounded_number_of_times(server, make, sleeps):
    server.emulator.faults += [(500, {}, {"success": False, "errors": [{"message": "boom"}]})] * 3
    err = raises(UnavailableError, make(attempts=3), UNKNOWN)
    assert err.status == 500 and "Tried 3 times" in str(err) and "boom" in str(err)
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_one_server_error_then_success(server, make, truths):
    server.emulator.faults.append((502, {}, "<html>bad gateway</html>"))
    assert fetch(make(), truths["healthy"].uuid("peer")).has_stats
    assert len(server.requests) == 2


def test_timeout_is_unavailable(server, make):
    server.emulator.delay_s = 0.3
    err = raises(UnavailableError, make(attempts=2, http_timeout_s=0.05), UNKNOWN)
    assert "did not answer in time" in str(err) and "Tried 2 times" in str(err)


@pytest.mark.parametrize(
    ("body", "cls", "words"),
    [
        ("not json at all", BadResponseError, "not JSON"),
        ([1, 2, 3], BadResponseError, "not an object"),
        ({"success": False, "errors": [{"message": "quota"}]}, BadResponseError, "quota"),
        ({"success": False, "error": {"code": 404, "message": "gone"}}, NotFoundError, "gone"),
        ({"success": True, "data": {}}, NotFoundError, UNKNOWN),
        ({"success": True}, NotFoundError, UNKNOWN),
        ({"success": True, "data": {"participant": "x"}}, BadResponseError, "data.participant"),
        ({"data": {"participant": {"duration": "long"}}}, BadResponseError, "unexpected shape"),
    ],
)
def test_unexpected_bodies(server, make, body, cls, words):
    server.emulator.faults.append((200, {}, body))
    err = raises(cls, make(), UNKNOWN)
    assert words in str(err)
    assert len(server.requests) == 1


def test_emulator_rejects_unknown_paths_and_methods(server, truths):
    emulator = server.emulator
    auth = {"authorization": f"Bearer {TOKEN}"}
    base = root(server)

    def call(path: str, method: str = "GET", headers=None):
        req = Recorded(method, path, {}, headers if headers is not None else auth)
        return emulator.route(req)

    assert call(f"{base}/peer-report/{UNKNOWN}/extra")[0] == 404
    assert call("/client/v4/zones")[0] == 404
    assert call(f"{base}/peer-report/{truths['healthy'].uuid('peer')}", "POST")[0] == 405
    assert call(f"{base}/peer-report/x", headers={})[2] == AUTH_FAILED
    assert call(f"{base}/peer-report/x", headers={"authorization": TOKEN})[0] == 401


def test_demo_lookups_parse_and_resolve(server, make, truths):
    lookups = server.emulator.demo_lookups()
    assert len(lookups) == len(truths) + 1
    provider = make()
    for words, truth in lookups:
        assert words[0] == "cf"
        report = provider.fetch(CloudflareProvider.parse(words[1:]))
        assert report.participant.display_name == truth.profile.name
