"""Provider webhooks, end to end: verify -> dedupe -> schedule -> grade the call -> post.

`Webhooks.handle_webhook(provider, headers, body) -> (status, text)` is the whole HTTP
contract, independent of the server that carries it:

    200  accepted (queued, merged into a waiting job, a duplicate, or an ignored event)
    400  verified but not JSON, or a trigger event without its ids
    401  unsigned, badly signed, or stale; nothing is done
    404  unknown provider, or webhooks are off (no ALERT_CHANNEL)
    413  body too large
    503  the signing key could not be fetched, or the queue is full: the provider retries

The work runs later on the scheduler's own threads (`Scheduler`), so the provider gets its
answer in milliseconds. Answers never carry a stack trace, a signature or a secret.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.commands import parse_words
from bot.grading import Grade
from bot.overview import Overview
from bot.webhooks import events
from bot.webhooks.queue import Full, Scheduler
from bot.webhooks.store import Claims, MemoryStore
from bot.webhooks.verify import MAX_BODY, KeyUnavailable, Refused, Verifier
from providers.base import Lookup
from providers.errors import CallQualityError, ConfigError

if TYPE_CHECKING:
    from bot.lookup import Outcome

log = logging.getLogger("callquality.webhooks")

DEDUPE_TTL_S = 7 * 24 * 3600.0  # providers retry for hours at most


class Publisher(Protocol):
    def publish(self, call_key: str, overview: Overview, lookup: Lookup, rid: str) -> Any: ...


class Webhooks:
    def __init__(
        self,
        *,
        verifier: Verifier,
        lookup: Callable[[Lookup], Outcome],
        publisher: Publisher,
        claims: Claims | None = None,
        min_grade: Grade = Grade.POOR,
        delay_s: float = 120.0,
        retries: int = 3,
        retry_s: float = 60.0,
        max_age_s: float = 3600.0,
        workers: int = 2,
        queue_size: int = 64,
        posted: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.verifier = verifier
        self._lookup = lookup
        self.publisher = publisher
        self.claims = claims if claims is not None else MemoryStore()
        self.min_grade = min_grade
        self.delay_s = delay_s
        self.retries = retries
        self.retry_s = retry_s
        self.max_age_s = max_age_s
        self._posted = posted or (lambda _key: False)
        self._clock = clock
        self.scheduler = Scheduler(self._process, workers=workers, capacity=queue_size)

    # --- the HTTP contract ---------------------------------------------------------------------

    def handle_webhook(
        self, provider: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str]:
        word = events.PROVIDER_WORDS.get(provider.lower())
        if word is None:
            return (
                404,
                "unknown provider: use /webhooks/cloudflare, /webhooks/videosdk, /webhooks/stream",
            )
        if len(body) > MAX_BODY:
            return 413, f"body larger than {MAX_BODY} bytes"
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            payload = self.verifier.verify(word, lowered, body)
        except Refused as exc:
            log.warning("refused a %s webhook: %s", word, exc)
            return 401, f"refused: {exc}"
        except KeyUnavailable as exc:
            log.warning("cannot verify a %s webhook: %s", word, exc)
            return 503, "the signing key is unavailable; retry later"
        try:
            event = json.loads(payload)
        except ValueError:
            return 400, "the body is not JSON"
        try:
            trigger = events.parse(
                word, event, lowered, payload, now=self._clock(), max_age_s=self.max_age_s
            )
        except events.Stale as exc:
            log.warning("refused a stale %s webhook: %s", word, exc)
            return 401, f"refused: {exc}"
        except events.Malformed as exc:
            return 400, str(exc)
        if trigger is None:
            return 200, "ignored: not an event this bot acts on"
        claimed = []
        for key in trigger.dedupe_keys:
            if not self.claims.claim(key, DEDUPE_TTL_S):
                for done in claimed:
                    self.claims.release(done)
                return 200, "duplicate: already received"
            claimed.append(key)
        delay = self.delay_s if trigger.delayed else 0.0
        try:
            how = self.scheduler.offer(trigger.call_key, trigger, delay)
        except Full:
            for key in claimed:
                self.claims.release(key)
            log.warning("webhook queue full; refused %s", trigger.call_key)
            return 503, "busy: retry later"
        log.info("webhook %s %s for %s", trigger.event, how, trigger.call_key)
        return 200, f"accepted ({how})"

    # --- the work --------------------------------------------------------------------------------

    def _process(self, trigger: events.Trigger, attempt: int) -> float | None:
        """Grade the call and post it; the seconds to wait before another try, or None."""
        rid = "cq-" + uuid.uuid4().hex[:10]
        retry = self.retry_s if trigger.delayed and attempt < self.retries else None
        lookup = parse_words(list(trigger.words))
        assert isinstance(lookup, Lookup)
        try:
            outcome = self._lookup(lookup)
        except ConfigError as exc:
            log.warning("cannot grade %s: %s [%s]", trigger.call_key, exc, rid)
            return None
        except CallQualityError as exc:
            log.warning("grading %s failed: %s [%s]", trigger.call_key, exc, rid)
            return retry
        overview = outcome.overview
        if overview is None:
            return None
        if retry is not None and incomplete(overview):
            log.info("stats of %s incomplete; again in %.0f s [%s]", trigger.call_key, retry, rid)
            return retry
        if overview.at_least(self.min_grade) or self._posted(trigger.call_key):
            self.publisher.publish(trigger.call_key, overview, lookup, rid)
        return None

    def idle(self, timeout: float = 10.0) -> bool:
        return self.scheduler.idle(timeout)

    def close(self) -> None:
        self.scheduler.close()


def incomplete(overview: Overview) -> bool:
    """Stats still arriving: no participants yet, some not graded, or some without stats."""
    if not overview.ranked and not overview.pending:
        return True
    if overview.pending or any(r.error for r in overview.ranked):
        return True
    return any(r.verdict is not None and r.verdict.grade == Grade.UNKNOWN for r in overview.ranked)
