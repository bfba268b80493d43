"""Stream time handling: timestamp units, window words, splitting and merging."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from providers.errors import InputError
from providers.stream_windows import (
    ceil_ms,
    floor_ms,
    iso,
    merge_points,
    parse_last,
    parse_window,
    split_window,
    to_datetime,
    to_unix,
)

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
S0 = T0.timestamp()  # 1795183200.0


@pytest.mark.parametrize(
    "raw",
    [
        1795183200,
        1795183200.0,
        1795183200000,
        1795183200000000,
        1795183200000000000,
        "1795183200000000000",
        "1795183200000",
        "2026-11-20T14:00:00Z",
        "2026-11-20T14:00:00.000000000Z",
        "2026-11-20T16:00:00+02:00",
        "2026-11-20T14:00:00",
        T0,
    ],
)
def test_every_unit_and_iso_reads_as_the_same_instant(raw):
    assert to_unix(raw) == S0


def test_fractions_survive_each_unit():
    assert to_unix(1795183200.25) == S0 + 0.25
    assert to_unix(1795183200250) == S0 + 0.25
    assert to_unix(1795183200250000) == S0 + 0.25
    assert to_unix(1795183200250000000) == S0 + 0.25
    assert to_unix("2026-11-20T14:00:00.250000001Z") == S0 + 0.25  # ns truncated to us


@pytest.mark.parametrize("raw", [None, True, "", "soon", float("nan"), [], {}])
def test_unreadable_timestamps_are_none(raw):
    assert to_unix(raw) is None
    assert to_datetime(raw) is None


def test_iso_form_sent_to_the_api():
    assert iso(T0) == "2026-11-20T14:00:00.000Z"
    assert iso(T0.astimezone(timezone(timedelta(hours=2)))) == iso(T0)
    t = T0 + timedelta(microseconds=1500)
    assert floor_ms(t) == T0 + timedelta(milliseconds=1)
    assert ceil_ms(t) == T0 + timedelta(milliseconds=2)
    assert ceil_ms(T0) == T0


def test_exactly_thirty_minutes_is_one_request():
    assert split_window(T0, T0 + timedelta(minutes=30)) == [(T0, T0 + timedelta(minutes=30))]


def test_thirty_minutes_and_a_second_is_two_adjacent_requests():
    end = T0 + timedelta(minutes=30, seconds=1)
    half = T0 + timedelta(minutes=30)
    assert split_window(T0, end) == [(T0, half), (half, end)]


def test_long_window_is_covered_without_gaps_or_overlaps():
    end = T0 + timedelta(hours=5, minutes=7, seconds=3)
    windows = split_window(T0, end)
    assert len(windows) == 11
    assert windows[0][0] == T0 and windows[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(timedelta(0) < b - a <= timedelta(minutes=30) for a, b in windows)
    assert split_window(T0, T0) == []


def test_merge_keeps_each_point_once_inside_its_own_window():
    half = T0 + timedelta(minutes=30)
    end = T0 + timedelta(hours=1)
    edge = half.timestamp()
    first = [(S0, 1.0), (S0 + 5, 2.0), (edge, 99.0)]  # an inclusive API repeats the edge
    second = [(edge, 3.0), (edge + 5, None), (edge + 5, 4.0), (S0 + 5, 2.0), (end.timestamp(), 9.0)]
    merged = merge_points([((T0, half), first), ((half, end), second)])
    # The inner edge belongs to the later window; the outer end (the last sample, taken as
    # the participant left) is kept.
    assert merged == [
        (S0, 1.0),
        (S0 + 5, 2.0),
        (edge, 3.0),
        (edge + 5, 4.0),
        (end.timestamp(), 9.0),
    ]
    # A point past the end is outside every window.
    late = merge_points([((T0, end), [(end.timestamp() + 1, 5.0)])])
    assert late == []


def test_window_words():
    assert parse_window(["last", "10m"]) == (None, "last 10m")
    assert parse_window(["last", "2", "h"]) == (None, "last 2 h")
    assert parse_last("90s") == timedelta(seconds=90)
    assert parse_last("2h") == timedelta(hours=2)
    words = ["since", "2026-11-20T14:00:00Z", "until", "2026-11-20T17:00:00+02:00"]
    window, text = parse_window(words)
    assert text == " ".join(words)
    assert window == (T0, T0 + timedelta(hours=1))
    assert window[1].tzinfo == UTC
    window, _ = parse_window(["since", "2026-11-20T14:00:00", "until", "2026-11-20T14:30:00"])
    assert window == (T0, T0 + timedelta(minutes=30))  # naive times are UTC


@pytest.mark.parametrize(
    "words",
    [
        ["last", "25h"],
        ["last", "0m"],
        ["last", "ten", "minutes"],
        ["last"],
        ["since", "2026-11-20T14:00:00Z", "until", "2026-11-20T14:00:00Z"],
        ["since", "2026-11-20T14:00:00Z", "until", "2026-11-20T13:00:00Z"],
        ["since", "2026-11-20T14:00:00Z", "until", "2026-11-21T14:00:01Z"],
        ["since", "yesterday", "until", "2026-11-20T14:00:00Z"],
        ["since", "2026-11-20T14:00:00Z"],
        ["during", "lunch"],
    ],
)
def test_bad_windows_are_input_errors(words):
    with pytest.raises(InputError):
        parse_window(words)


def test_a_full_day_is_allowed():
    window, _ = parse_window(["since", "2026-11-20T14:00:00Z", "until", "2026-11-21T14:00:00Z"])
    assert window == (T0, T0 + timedelta(hours=24))
    assert parse_last("24h") == timedelta(hours=24)
