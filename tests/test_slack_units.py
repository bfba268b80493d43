"""Units of the Slack side: pure renderers, follow-up parsing, the job runner, the log
redaction, the form-body fix and the settings check of `serve`."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from bot import blocks, cards, render
from bot.config import Settings
from bot.followups import FollowUp, parse
from bot.grading import Finding, Grade, Verdict
from bot.jobs import Busy, JobRunner
from bot.lookup import Outcome
from bot.redact import SecretFilter, install
from bot.runtime import Runtime
from bot.server import FormSafeBoltRequest, check_settings, serve
from providers.base import Lookup
from providers.errors import NotFoundError, RateLimitedError
from providers.models import (
    Client,
    Direction,
    Listing,
    ListingRow,
    Media,
    Network,
    Participant,
    Report,
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


LOOKUP = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))


def test_card_puts_grade_and_cause_first_escapes_and_omits_the_ip():
    settings = Settings(_env_file=None, cloudflare_account_id="acc-1")
    text, blocks = cards.card(
        report(), verdict(), lookup=LOOKUP, request_id="cq-1", settings=settings, asked_by="U1"
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
    fields = [f["text"] for f in blocks[2]["fields"]]
    # Unknown facts are left out; the city only with SHOW_LOCATION.
    assert fields == [
        "*Participant*\n&lt;!channel&gt; &amp; Bob (`u1`)",
        "*Device*\niPhone · iOS 17 · Safari (mobile)",
        "*Network*\ncellular",
        "*Location*\nNO",
        "*Media path*\nrelayed via TURN · TCP",
        "*In the call*\n2 min 5 s",
    ]
    assert blocks[3]["elements"][0]["text"] == (
        "Asked by <@U1> · Cloudflare RealtimeKit · call "
        "<!date^1767323040^{date_short_pretty} {time}|2026-01-02 03:04 UTC> · `cf p-1` · "
        "request `cq-1`"
    )
    buttons = blocks[4]
    assert buttons["type"] == "actions"
    assert [(e["action_id"], e.get("value")) for e in buttons["elements"]] == [
        ("callquality_refresh", "refresh"),
        ("callquality_audio", "audio"),
        ("callquality_video", "video"),
        ("callquality_network", "network"),
        ("callquality_compare", "compare"),
        ("callquality_glossary", "glossary"),
        ("callquality_open", None),
    ]
    assert buttons["elements"][-1]["url"] == "https://dash.cloudflare.com/acc-1/realtime/kit"
    assert buttons["elements"][-1]["text"]["text"] == "Open in Cloudflare RealtimeKit"
    assert "198.51.100.7" not in str(blocks) + text
    assert "<!channel>" not in text and "Oslo" not in str(blocks)


def test_card_shows_one_likely_cause_and_the_location_when_allowed():
    root = Finding("loss_pct", Grade.POOR, "Loss on receive", Media.AUDIO, Direction.RECEIVE)
    root.cause = "this participant's downlink"
    mos = Finding("mos", Grade.POOR, "MOS on receive", Media.AUDIO, Direction.RECEIVE)
    mos.caused_by, mos.cause = root, "the packet loss on receive (audio)"
    jitter = Finding("jitter_ms", Grade.FAIR, "Jitter", Media.AUDIO, Direction.RECEIVE)
    jitter.cause = "this participant's downlink"
    v = Verdict(Grade.POOR, "Poor: packet loss on receive (audio) 12 %", [mos, root, jitter])
    settings = Settings(_env_file=None, show_location=True)
    _, blocks = cards.card(report(), v, lookup=LOOKUP, request_id="r", settings=settings)
    lines = blocks[1]["text"]["text"].splitlines()
    assert lines[1:] == [
        "Likely cause: this participant's downlink.",
        "Also affected: jitter on receive (audio).",
    ]
    assert "*Location*\nOslo, NO" in [f["text"] for f in blocks[2]["fields"]]
    # Without the account id the default dashboard link cannot be built: no link button.
    assert "callquality_open" not in str(blocks)


@pytest.mark.parametrize(
    ("provider", "ids", "template", "url"),
    [
        (
            "videosdk",
            (("session", "s 1"), ("participant", "p1")),
            None,
            "https://app.videosdk.live/",
        ),
        (
            "videosdk",
            (("session", "s 1"), ("participant", "p1")),
            "https://app.videosdk.live/sessions/{session_id}/{participant_id}",
            "https://app.videosdk.live/sessions/s%201/p1",
        ),
        (
            "stream",
            (("call_type", "default"), ("call_id", "abc"), ("user_id", "u")),
            "https://dash.example/{call_type}/{call_id}?user={user_id}",
            "https://dash.example/default/abc?user=u",
        ),
        ("stream", (("call_id", "abc"),), "https://dash.example/{peer_id}", None),
        ("stream", (("call_id", "abc"),), "javascript:alert({call_id})", None),
    ],
)
def test_dashboard_url_templates(provider, ids, template, url):
    values = {f"{provider}_dashboard_url": template} if template else {}
    settings = Settings(_env_file=None, **values)
    lookup = Lookup(provider, "participant", ids)
    assert cards.dashboard_url(settings, None, lookup) == url


def test_long_text_is_split_between_sentences_never_mid_word():
    sentence = "Packet loss on receive (audio) averaged 12 % for 2 min 45 s from 14:16:30. "
    text = "\n".join(sentence * 6 for _ in range(12))
    pieces = blocks.split_text(text, 3000)
    assert len(pieces) > 1 and all(len(p) <= 3000 for p in pieces)
    assert "".join(p.replace("\n", "") for p in pieces).replace(" ", "") == text.replace(
        "\n", ""
    ).replace(" ", "")
    assert all(p.rstrip().endswith(".") for p in pieces)
    one_line = "word " * 1000
    assert all(p.endswith("word") for p in blocks.split_text(one_line, 300))
    assert blocks.shorten("Call quality · a very long name", 20) == "Call quality · a…"


def test_metadata_and_raw_export_carry_no_address():
    lookup = Lookup("cf", "participant", (("peer_id", "p-1"),), args=("p-1",))
    assert render.metadata(lookup, "cq-9", grade=Grade.FAIR, asked_by="U1") == {
        "event_type": "callquality_result",
        "event_payload": {
            "schema": 1,
            "provider": "cf",
            "args": ["p-1"],
            "window": None,
            "request_id": "cq-9",
            "grade": "fair",
            "asked_by": "U1",
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
