"""Id validation: every id a user typed is checked here before it reaches a URL.

`check_uuid` and `check_id` raise InputError (nothing has been sent yet); `segment` encodes a
checked id into one path segment, a second fence should a check ever be too lenient.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from providers.errors import InputError, shown

MAX_ID_LEN = 256
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-:.@+=]+$")


def check_uuid(what: str, value: str) -> str:
    if not value:
        raise InputError(f"The {what} is empty; it should be a UUID.")
    if not _UUID.match(value):
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
    if ".." in value or "/" in value or "\\" in value:
        raise InputError(f"`{shown(value)}` is not a valid {what}: it may not contain `/` or `..`.")
    if not _SAFE_ID.match(value):
        raise InputError(
            f"`{shown(value)}` is not a valid {what}: use letters, digits and - _ : . @ only."
        )
    return value


def segment(value: str) -> str:
    """Encode one path segment (ids are validated already; this is the second fence)."""
    return quote(value, safe="")
