"""providers.ids: id validation refuses what must never reach a URL."""

from __future__ import annotations

import pytest

from providers.errors import InputError
from providers.ids import check_id, check_uuid


@pytest.mark.parametrize("value", ["", "../x", "a/b", "a b", "x" * 300, "a\nb", "ü"])
def test_check_id_refuses(value):
    with pytest.raises(InputError):
        check_id("session id", value)


def test_check_id_and_uuid_accept():
    assert check_id("user id", "user-1@example.com") == "user-1@example.com"
    assert check_uuid("peer id", "3F1C2B4A-1D2E-4F5A-9B8C-7D6E5F4A3B2C") == (
        "3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
    )
    with pytest.raises(InputError, match="not a valid peer id"):
        check_uuid("peer id", "3f1c2b4a")
