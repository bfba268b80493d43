"""The state that must outlive one process: delivery claims (exactly-once answers) and the
lookup cache. One small interface, two backends:

- `SqliteStore`, the default: a file in the data directory, so one bot answers a retry once
  even across a restart, with no set-up;
- `RedisStore`, when `REDIS_URL` is set, so any number of replicas share claims and results.

`claim(key, ttl_s)` is atomic in both: exactly one caller gets True until the key expires.
Values are bytes; what they mean is the caller's business.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from bot.config import Settings

FILENAME = "callquality.sqlite3"
PREFIX = "callquality:"
PURGE_EVERY = 200  # writes between sweeps of expired rows


class Store(Protocol):
    def claim(self, key: str, ttl_s: float) -> bool:
        """True for the first caller to claim `key` until it expires."""
        ...

    def release(self, key: str) -> None:
        """Give a claim back (its work was refused), so the next try may claim it."""
        ...

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    def close(self) -> None: ...


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "callquality"


class SqliteStore:
    """One SQLite file; safe for the threads of one process and for processes on one host."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._writes = 0
        # Autocommit; each claim is one statement, so it is atomic across processes too.
        self._db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires REAL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB, expires REAL)"
        )

    def claim(self, key: str, ttl_s: float) -> bool:
        now = time.time()
        with self._lock:
            self._maybe_purge(now)
            # Take the row when it is absent or expired, in one statement.
            cur = self._db.execute(
                "INSERT INTO claims (key, expires) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires "
                "WHERE claims.expires <= ?",
                (key, now + ttl_s, now),
            )
            return cur.rowcount == 1

    def release(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM claims WHERE key = ?", (key,))

    def get(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM cache WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return bytes(row[0]) if row else None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        now = time.time()
        with self._lock:
            self._maybe_purge(now)
            self._db.execute(
                "INSERT OR REPLACE INTO cache (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + ttl_s),
            )

    def _maybe_purge(self, now: float) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            self._db.execute("DELETE FROM claims WHERE expires <= ?", (now,))
            self._db.execute("DELETE FROM cache WHERE expires <= ?", (now,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisStore:
    """Claims are `SET key 1 NX PX ttl`: atomic in Redis, whichever replica asks first."""

    def __init__(self, url: str):
        import redis  # only needed with REDIS_URL

        self._redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)

    def claim(self, key: str, ttl_s: float) -> bool:
        return bool(self._redis.set(PREFIX + key, b"1", nx=True, px=max(1, int(ttl_s * 1000))))

    def release(self, key: str) -> None:
        self._redis.delete(PREFIX + key)

    def get(self, key: str) -> bytes | None:
        value = self._redis.get(PREFIX + key)
        return bytes(value) if value is not None else None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._redis.set(PREFIX + key, value, px=max(1, int(ttl_s * 1000)))

    def close(self) -> None:
        self._redis.close()


def open_store(settings: Settings) -> Store:
    """Redis when REDIS_URL is set, else SQLite in CALLQUALITY_DATA_DIR (or the default)."""
    if settings.redis_url is not None:
        return RedisStore(settings.redis_url.get_secret_value())
    folder = settings.callquality_data_dir or default_data_dir()
    return SqliteStore(Path(folder) / FILENAME)
