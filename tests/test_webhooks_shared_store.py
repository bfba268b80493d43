"""Webhook claims and alert messages on the bot's own store: a delivery handled before a
restart is a duplicate after it, and a repeated event finds the message posted before."""

from __future__ import annotations

from bot.store import SqliteStore
from bot.webhooks.store import SharedStore


def test_claims_and_messages_survive_a_restart(tmp_path):
    path = tmp_path / "callquality.sqlite3"
    first = SharedStore(SqliteStore(path))
    assert first.claim("cf:delivery-1", 3600) is True
    assert first.claim("cf:delivery-1", 3600) is False
    first.set("cf:session-1", "1700000000.000100", 3600)

    again = SharedStore(SqliteStore(path))  # the bot restarted (or another process)
    assert again.claim("cf:delivery-1", 3600) is False
    assert again.get("cf:session-1") == "1700000000.000100"
    # A refused delivery gives its claim back, so the provider's retry is accepted.
    assert again.claim("cf:delivery-2", 3600) is True
    again.release("cf:delivery-2")
    assert first.claim("cf:delivery-2", 3600) is True
    # Claims and messages do not collide with each other's keys.
    assert again.get("cf:delivery-1") is None
