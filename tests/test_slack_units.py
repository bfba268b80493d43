"""Units of the Slack side: pure renderers, follow-up parsing, the job runner, the log
redaction, the form-body fix and the settings check of `serve`."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from bot import render
from bot.config import Settings
from bot.followups import FollowUp, parse
from bot.jobs import Busy, JobRunner
from bot.lookup import Outcome
from bot.redact import SecretFilter, install
from bot.runtime import SAMPLE_BYTES, LockedTTL, Runtime, outcome_bytes
from bot.server import FormSafeBoltRequest, check_settings, serve
from bot.verdicts import Finding, Grade, Verdict
from providers.base import Lookup
from providers.errors import NotFoundError, RateLimitedError
from providers.models import (
    Client,
    Direction,
    Listing,
    ListingRow,
    Media,
    Metric,
    Network,
    Participant,
    Report,
    Series,
)


def report() -> Report:
    return Report(
        provider="cf",
        ids={"peer_id": "p-1"},
        participant=Participant(
            display_name="<!channel> & Bob",
            user_id="u1",
            joined_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            duration_s=125,
        ),
        client=Client(device="iPhone", os="iOS", os_version="17", browser="Safari", is_mobile=True),
        network=Network(
            ip="198.51.100.7",
            network_type="cellular",
            city="Oslo",
            country="NO",
            relayed=True,
            transport="tcp",
        ),
    )


def verdict() -> Verdict:
    return Verdict(
        Grade.POOR,
        "Poor: round-trip time on send (audio), p90 620 ms",
        [
            Finding("rtt_ms", Grade.POOR, "RTT on send was <high>", Media.AUDIO, Direction.SEND),
            Finding("loss_pct", Grade.GOOD, "Loss stayed good", Media.AUDIO, Direction.RECEIVE),
        ],
    )


def test_summary_puts_grade_and_cause_first_escapes_and_omits_the_ip():
    text, blocks = render.summary(
        report(),
        verdict(),
        label="Cloudflare RealtimeKit",
        command="cf p-1",
        window_text=None,
        request_id="cq-1",
    )
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Call quality · <!channel> & Bob", "emoji": True},
    }
    assert blocks[1] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": ":red_circle: *Poor*: round-trip time on send (audio), p90 620 ms",
        },
    }
    assert blocks[2]["text"]["text"] == ":red_circle: RTT on send was &lt;high&gt;"
    fields = [f["text"] for f in blocks[3]["fields"]]
    assert fields == [
        "*Participant*\n&lt;!channel&gt; &amp; Bob (`u1`)",
        "*Device*\niPhone · iOS 17 · Safari (mobile)",
        "*Network*\ncellular",
        "*Location*\nOslo, NO",
        "*Media path*\nrelayed via TURN · TCP",
        "*Joined*\n2026-01-02 03:04 UTC · 2 min 5 s",
    ]
    assert blocks[4]["elements"][0]["text"] == (
        "Cloudflare RealtimeKit · `cf p-1` · request `cq-1`"
    )
    assert "198.51.100.7" not in str(blocks) + text
    assert "<!channel>" not in text


def test_metadata_and_raw_export_carry_no_address():
    lookup = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))
    assert render.metadata(lookup, "cq-9") == {
        "event_type": "callquality_result",
        "event_payload": {
            "schema": 1,
            "provider": "cf",
            "args": ["p-1"],
            "window": None,
            "request_id": "cq-9",
        },
    }
    assert b"198.51.100.7" not in render.raw_json(report())


def test_raw_export_and_every_dump_leave_out_the_ip():
    assert report().network.ip == "198.51.100.7"
    assert "ip" not in report().model_dump()["network"]
    assert "198.51.100.7" not in report().model_dump_json()


def test_listing_header_is_plain_text_without_backticks():
    listing = Listing(
        provider="stream",
        title="Participant sessions of `default:standup` (session `s-1`)",
        rows=[ListingRow(id="us-1", name="user-ada", command="stream default:standup s-1 a b")],
    )
    text, blocks = render.listing(listing, label="Stream Video", command="stream x", request_id="r")
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Participant sessions of default:standup (session s-1)",
            "emoji": True,
        },
    }
    assert text == "Participant sessions of default:standup (session s-1): 1 found"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UCQBOT01> stream default:x <mailto:a@b.com|a@b.com>", "stream default:x a@b.com"),
        ("<@UCQBOT01|callquality> cf <mailto:a@b.com>", "cf a@b.com"),
        ("see <https://example.com/a?b=1&amp;c=2|the call> now", "see the call now"),
        ("see <https://example.com/a?b=1&amp;c=2>", "see https://example.com/a?b=1&c=2"),
        ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
        ("  video  ", "video"),
        ("", ""),
    ],
)
def test_unslack_gives_back_what_was_typed(text, expected):
    assert render.unslack(text) == expected


def test_runtime_leaves_no_lock_behind_after_failed_lookups():
    runtime = Runtime(Settings(_env_file=None))

    def not_found(lookup, settings, transport):
        raise NotFoundError("No such peer.")

    runtime.runner = not_found
    try:
        for n in range(50):
            lookup = Lookup("cf", "participant", (("peer_id", f"p-{n % 7}"),), args=(f"p-{n}",))
            with pytest.raises(NotFoundError):
                runtime.lookup(lookup)
        assert runtime._key_locks == {}
    finally:
        runtime.close()


def test_runtime_shares_one_provider_call_between_identical_lookups():
    runtime = Runtime(Settings(_env_file=None))
    calls = []
    started = threading.Event()

    def slow(lookup, settings, transport):
        calls.append(lookup)
        started.set()
        time.sleep(0.3)
        return Outcome(lookup, report(), verdict(), 0.3)

    runtime.runner = slow
    lookup = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))
    results = []
    try:
        threads = [
            threading.Thread(target=lambda: results.append(runtime.lookup(lookup)))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        assert started.wait(3)
        for t in threads:
            t.join(5)
        assert len(calls) == 1 and len(results) == 8
        assert all(r is results[0] for r in results)
        assert runtime._key_locks == {}
    finally:
        runtime.close()


def test_error_text_is_one_sentence():
    err = RateLimitedError("Cloudflare RealtimeKit is rate limiting us.", retry_after=12.2)
    assert render.error_text(err) == (
        ":warning: Cloudflare RealtimeKit is rate limiting us. Try again in 12 s."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("video", FollowUp("video")),
        ("<@UCQBOT01> Network?", FollowUp("network")),
        ("chart loss", FollowUp("chart", ("loss",))),
        ("last 10m", FollowUp("window", ("last", "10m"))),
        ("window 14:00Z 14:30Z", FollowUp("window", ("since", "14:00Z", "until", "14:30Z"))),
        ("window since a until b", FollowUp("window", ("since", "a", "until", "b"))),
        ("window last 5m", FollowUp("window", ("last", "5m"))),
        ("window 14:00Z", FollowUp("window", ("14:00Z",))),
        ("<@UCQBOT01> chart <http://loss|loss>", FollowUp("chart", ("loss",))),
        ("compare abc def", FollowUp("compare", ("abc", "def"))),
        ("the video was choppy for everyone", None),
        ("thanks", None),
        ("", None),
    ],
)
def test_follow_up_parsing(text, expected):
    assert parse(text) == expected


def test_job_runner_refuses_beyond_its_queue_and_times_out():
    runner = JobRunner(workers=1, timeout_s=0.3, queue_size=1)
    release = threading.Event()
    timed_out = threading.Event()
    delivered = []

    def slow(job):
        release.wait(5)
        delivered.append(job.claim())

    try:
        runner.submit(slow, on_timeout=timed_out.set)
        runner.submit(lambda job: None)
        with pytest.raises(Busy):
            runner.submit(lambda job: None)
        assert timed_out.wait(3)
        release.set()
        assert runner.activity.wait_idle(3)
        assert delivered == [False]  # the late result is dropped
    finally:
        release.set()
        runner.shutdown()


def test_secret_filter_redacts_messages_args_and_tracebacks():
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    install(["s3cr3t-value"], [handler])
    log = logging.getLogger("callquality.test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("token %s and xoxb-123-456-abc and xapp-1-A2-3", "s3cr3t-value")
        try:
            raise ValueError("bad s3cr3t-value")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    joined = "\n".join(records)
    assert "s3cr3t-value" not in joined and "xoxb-" not in joined and "xapp-" not in joined
    assert joined.count("[redacted]") == 5  # message (3), source line and exception text
    assert SecretFilter(["abcd"]).redact("x abcd y") == "x [redacted] y"


def test_form_bodies_containing_payload_are_parsed_as_forms():
    body = "command=%2Fcallquality&text=cf+payload&channel_id=C1&user_id=U1&team_id=T1"
    req = FormSafeBoltRequest(
        body=body, headers={"content-type": ["application/x-www-form-urlencoded"]}
    )
    assert req.body["text"] == "cf payload"
    assert req.context.channel_id == "C1"
    assert req.to_copyable().body["text"] == "cf payload"
    interactive = FormSafeBoltRequest(
        body="payload=%7B%22type%22%3A%22x%22%7D",
        headers={"content-type": ["application/x-www-form-urlencoded"]},
    )
    assert interactive.body == {"type": "x"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": "xoxb-1"}, "set SLACK_SIGNING_SECRET"),
        ({"slack_app_token": "xapp-1"}, "Socket Mode: set SLACK_BOT_TOKEN."),
    ],
)
def test_serve_names_the_missing_slack_settings(values, message):
    settings = Settings(_env_file=None, **values)
    with pytest.raises(SystemExit) as exc:
        check_settings(settings)
    assert message in str(exc.value.code)
    with pytest.raises(SystemExit):
        serve(settings, port=0)


def test_byte_bounded_cache_evicts_the_least_recent_and_refuses_what_cannot_fit():
    cache = LockedTTL(maxsize=100, ttl=60, getsizeof=len)
    cache.set("a", b"x" * 40)
    cache.set("b", b"x" * 40)
    assert cache.get("a") is not None  # now the most recently used
    cache.set("c", b"x" * 40)
    assert (cache.get("a"), cache.get("b")) == (b"x" * 40, None)
    cache.set("huge", b"x" * 101)
    assert cache.get("huge") is None and cache.currsize == 80


def test_a_result_is_sized_by_its_samples():
    lookup = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))

    def sized(samples: int) -> int:
        loss = Series(
            media=Media.AUDIO,
            direction=Direction.SEND,
            metric=Metric.LOSS,
            times=[float(t) for t in range(samples)],
            values=[0.5] * samples,
        )
        result = report().model_copy(update={"series": [loss]})
        return outcome_bytes(Outcome(lookup, result, verdict(), 0.0))

    assert sized(3600) - sized(300) == SAMPLE_BYTES * 3300


def test_runtime_draws_a_chart_once_for_concurrent_askers():
    runtime = Runtime(Settings(_env_file=None))
    drawn = []
    release = threading.Event()

    class Drawing:
        def render(self, result, verdict, focus=None):
            drawn.append(result)
            release.wait(5)
            return b"png"

        def close(self, wait=True):
            pass

    runtime.drawing = Drawing()
    lookup = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))
    outcome = Outcome(lookup, report(), verdict(), 0.0)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.chart(outcome))) for _ in range(8)
    ]
    try:
        for t in threads:
            t.start()
        release.set()
        for t in threads:
            t.join(5)
    finally:
        release.set()
        runtime.close()
    assert results == [b"png"] * 8
    assert len(drawn) == 1
