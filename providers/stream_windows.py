"""Time handling for Stream Video: timestamps in any unit, the window words of a command, and
the split of a long window into the adjacent requests the API accepts.

Stream answers at most 30 minutes of metrics per request (and only the last minute of the
session without `since`/`until`), so a whole session is fetched as adjacent half-open windows
[since, until) and merged back by timestamp.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.errors import InputError

MAX_REQUEST_WINDOW = timedelta(minutes=30)  # the API's own limit per request
MAX_WINDOW = timedelta(hours=24)  # what one chat answer may cover

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
Window = tuple[datetime, datetime]
Point = tuple[float, float | None]

_NUMBER = re.compile(r"-?\d+(\.\d+)?")  # fullmatch: `$` would let a trailing newline in
_LAST = re.compile(r"(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs)", re.IGNORECASE)
_UNIT_S = {"s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600}
_UNIT_S["hrs"] = 3600


def to_unix(value: Any) -> float | None:
    """Unix seconds from seconds, milliseconds, microseconds or nanoseconds (told apart by
    magnitude), a numeric string, an ISO-8601 string or a datetime; None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _NUMBER.fullmatch(text):
            value = int(text) if "." not in text else float(text)
        else:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                return None
            return to_unix(when)
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return None
    # int / int division is exactly rounded; int / float would round the nanoseconds first.
    size = abs(value)
    if size < 1e11:
        return float(value)
    if size < 1e14:
        return value / 1_000
    if size < 1e17:
        return value / 1_000_000
    return value / 1_000_000_000


def to_datetime(value: Any) -> datetime | None:
    seconds = to_unix(value)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def iso(when: datetime) -> str:
    """The form sent as `since`/`until`: UTC, milliseconds, `Z` (no `+` to escape)."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def floor_ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def ceil_ms(when: datetime) -> datetime:
    floored = floor_ms(when)
    return floored if floored == when else floored + timedelta(milliseconds=1)


# --- window words ------------------------------------------------------------------------------


def _parse_instant(word: str) -> datetime:
    try:
        when = datetime.fromisoformat(word)
        # At the calendar's edges the offset alone overflows: 0001-01-01T00:00+01:00.
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(
            f"`{word[:40]}` is not a time: use ISO-8601 like `2026-11-20T14:00:00Z`."
        ) from None
    if not EARLIEST <= when < LATEST:
        # Windows are widened and stepped through later; far from now that overflows too.
        raise InputError(f"`{word[:40]}` is not a time a call can have been in.")
    return when


def parse_last(text: str) -> timedelta:
    """`10m` / `2h` / `90s` -> a duration within (0, 24 h]."""
    match = _LAST.fullmatch(text.strip())
    if not match:
        raise InputError(
            f"`{text[:40]}` is not a duration: use e.g. `last 10m`, `last 2h`, `last 90s`."
        )
    seconds = int(match.group(1)) * _UNIT_S[match.group(2).lower()]
    if seconds > MAX_WINDOW.total_seconds():  # before timedelta(), which overflows
        raise InputError("That window is longer than 24 hours; ask for at most `last 24h`.")
    span = timedelta(seconds=seconds)
    if span <= timedelta(0):
        raise InputError("The window is empty: use e.g. `last 10m`.")
    if span > MAX_WINDOW:
        raise InputError("That window is longer than 24 hours; ask for at most `last 24h`.")
    return span


def parse_window(words: list[str]) -> tuple[Window | None, str]:
    """Trailing window words -> ((since, until) or None for a relative `last`, the text).

    `last 10m` is relative to the end of the participant's session (or now while it lasts),
    so only its text is kept here; `since <iso> until <iso>` is absolute.
    """
    text = " ".join(words)
    head = words[0].lower() if words else ""
    if head == "last" and len(words) in (2, 3):
        parse_last("".join(words[1:]))
        return None, text
    if head == "since" and len(words) == 4 and words[2].lower() == "until":
        since, until = _parse_instant(words[1]), _parse_instant(words[3])
        if until <= since:
            raise InputError("The window ends before it starts: `until` must be after `since`.")
        if until - since > MAX_WINDOW:
            raise InputError("That window is longer than 24 hours; ask for at most 24 hours.")
        return (since.astimezone(UTC), until.astimezone(UTC)), text
    raise InputError(
        f"Could not read the window `{text[:60]}`: use `last 10m` or "
        "`since 2026-11-20T14:00:00Z until 2026-11-20T14:30:00Z`."
    )


def last_span(window_text: str) -> timedelta | None:
    words = window_text.split()
    if words and words[0].lower() == "last":
        return parse_last("".join(words[1:]))
    return None


# --- splitting and merging ---------------------------------------------------------------------


def split_window(
    since: datetime, until: datetime, step: timedelta = MAX_REQUEST_WINDOW
) -> list[Window]:
    """Adjacent half-open windows of at most `step` covering [since, until) exactly."""
    out: list[Window] = []
    start = since
    while start < until:
        end = min(start + step, until)
        out.append((start, end))
        start = end
    return out


def merge_points(chunks: Iterable[tuple[Window, Iterable[Point]]]) -> list[Point]:
    """Points of every window, each kept only inside its own [since, until) (a second fence
    in case the API is inclusive at both ends), one per timestamp, in time order. The last
    window also keeps a point exactly at its end: the sample taken as the participant left."""
    chunks = list(chunks)
    end = max((until.timestamp() for (_, until), _ in chunks), default=None)
    merged: dict[float, float | None] = {}
    for (since, until), points in chunks:
        lo, hi = since.timestamp(), until.timestamp()
        for t, v in points:
            inside = lo <= t < hi or t == hi == end
            if inside and (t not in merged or merged[t] is None):
                merged[t] = v
    return sorted(merged.items())
