"""Id validation: every id a user typed is checked here before it reaches a URL.

`check_uuid` and `check_id` raise InputError (nothing has been sent yet); `segment` encodes a
checked id into one path segment, a second fence should a check ever be too lenient.

The patterns are applied with `fullmatch`: `$` also matches before a trailing newline, so
`re.match("^...$")` let `id\n` through. An id of dots only (`.`, `..`) is refused: in a URL
path it removes a segment instead of naming something.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from providers.errors import BadResponseError, InputError, shown

MAX_ID_LEN = 256
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-:.@+=]+")


def check_uuid(what: str, value: str) -> str:
    if not value:
        raise InputError(f"The {what} is empty; it should be a UUID.")
    if not _UUID.fullmatch(value):
        raise InputError(
            f"`{shown(value)}` is not a valid {what}: expected a UUID like "
            "`3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c`."
        )
    return value.lower()


def check_id(what: str, value: str, max_len: int = MAX_ID_LEN) -> str:
    """A generic opaque id: non-empty, bounded, no whitespace, no `/`, no `..`."""
    if not value:
        raise InputError(f"The {what} is empty.")
    if len(value) > max_len:
        raise InputError(f"The {what} is too long ({len(value)} characters; at most {max_len}).")
    if ".." in value or "/" in value or "\\" in value or not value.strip("."):
        raise InputError(
            f"`{shown(value)}` is not a valid {what}: it may not contain `/` or `..`, "
            "nor be only dots."
        )
    if not _SAFE_ID.fullmatch(value):
        raise InputError(
            f"`{shown(value)}` is not a valid {what}: use letters, digits and - _ : . @ only."
        )
    return value


def segment(value: str) -> str:
    """Encode one path segment (ids are validated already; this is the second fence)."""
    encoded = quote(value, safe="")
    # quote() leaves dots alone, and `.` or `..` as a segment is resolved away by URL handling.
    return encoded.replace(".", "%2E") if not encoded.strip(".") else encoded


def check_identity(
    label: str,
    provider: str,
    asked: dict[str, str],
    answered: dict[str, str | None],
    *,
    fold_case: bool = False,
) -> None:
    """Raise BadResponseError when the provider answered about someone other than the one
    asked for (names -> values, e.g. {"peer id": ...}): never show another person's call as
    the requested one. A field the provider left out is not a mismatch (every vendor field is
    optional); one it filled in must agree."""
    for name, want in asked.items():
        got = answered.get(name)
        if got is None:
            continue
        same = got.lower() == want.lower() if fold_case else got == want
        if not same:
            raise BadResponseError(
                f"{label} answered about another {name} (`{shown(got)}`, not `{shown(want)}`); "
                "that answer is not shown.",
                provider=provider,
            )
