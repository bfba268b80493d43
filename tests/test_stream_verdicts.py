"""Stream lookups graded end to end: command words -> emulator over HTTP -> verdict."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.commands import parse
from bot.config import Settings
from bot.grading import Grade
from bot.lookup import run
from providers.emulators.stream import StreamEmulator
from providers.models import Report
from providers.sandbox import EmulatorServer


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[StreamEmulator, Settings]]:
    emulator = StreamEmulator()
    with EmulatorServer(emulator) as server:
        env = emulator.settings_env(server.url)
        yield emulator, Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})


def _outcome(sandbox, key: str):
    emulator, settings = sandbox
    words = next(w for w, t in emulator.demo_lookups() if t.key == key)
    lookup = parse(" ".join(words))
    return run(lookup, settings)


def test_healthy_is_good_and_says_what_stream_cannot_show(sandbox):
    outcome = _outcome(sandbox, "healthy")
    assert outcome.verdict is not None
    assert outcome.verdict.grade == Grade.GOOD
    unknown = " ".join(outcome.verdict.unknown)
    assert "packet loss" in unknown and "received" in unknown


def test_cpu_limited_is_graded_down_on_published_video(sandbox):
    outcome = _outcome(sandbox, "cpu-limited")
    assert outcome.verdict is not None
    assert outcome.verdict.grade in (Grade.FAIR, Grade.POOR)
    worst = outcome.verdict.findings[0]
    assert worst.grade == outcome.verdict.grade
    assert worst.metric in ("fps", "height_px", "width_px", "bitrate_kbps")
    assert worst.direction is not None and worst.direction.value == "send"
    assert worst.media is not None and worst.media.value == "video"


def test_no_stats_is_unknown(sandbox):
    outcome = _outcome(sandbox, "no-stats")
    assert isinstance(outcome.result, Report)
    assert outcome.verdict is not None and outcome.verdict.grade == Grade.UNKNOWN
