"""The other side of a lookup: fetch the participants whose media the subject received, so a
bad receive side can be told apart as "their uplink" or "this participant's downlink".

Only when the subject's receive side had loss or jitter problems, at most MAX_SENDERS of them,
concurrently, within the lookup's time budget, and cached for CACHE_TTL_S (the same sender is
asked about for every participant of a call). Whatever cannot be fetched in time is named in a
note; the lookup answers regardless.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from cachetools import TTLCache

from bot.grading import Verdict, attribute, grade, receive_problems
from providers.base import Lookup
from providers.errors import ProviderError
from providers.models import Report

MAX_SENDERS = 4
BUDGET_S = 8.0  # on top of the subject's own fetch; the lookup's own limit still applies
CACHE_TTL_S = 300.0
CACHE_ENTRIES = 256  # verdicts of senders, a few kB each

_cache: TTLCache[tuple, tuple[str, Verdict]] = TTLCache(maxsize=CACHE_ENTRIES, ttl=CACHE_TTL_S)
_lock = threading.Lock()


def _key(provider, lookup: Lookup) -> tuple:
    # The API root is part of the key: two accounts (or test emulators) never share an entry.
    client = getattr(provider, "client", None) or getattr(provider, "_client", None)
    root = str(getattr(client, "base_url", ""))
    return (root, lookup.provider, lookup.ids, lookup.window)


def _fetch(provider, lookup: Lookup) -> tuple[str, Verdict] | None:
    with _lock:
        hit = _cache.get(_key(provider, lookup))
    if hit is not None:
        return hit
    result = provider.fetch(lookup)
    if not isinstance(result, Report):
        return None
    got = (result.participant_name, grade(result))
    with _lock:
        _cache[_key(provider, lookup)] = got
    return got


def check_other_side(provider, report: Report, verdict: Verdict, budget_s: float = BUDGET_S):
    """Attribute the subject's receive-side problems to a sender's uplink or its downlink."""
    if not receive_problems(verdict) or not hasattr(provider, "senders"):
        return
    deadline = time.monotonic() + budget_s
    try:
        lookups = provider.senders(report)
    except ProviderError as exc:
        attribute(verdict, [], f"the session's participants could not be listed: {exc.message}")
        return
    if not lookups:
        attribute(verdict, [], "no other participant of the call was found to check")
        return
    skipped = max(0, len(lookups) - MAX_SENDERS)
    lookups = lookups[:MAX_SENDERS]
    pool = ThreadPoolExecutor(max_workers=len(lookups), thread_name_prefix="senders")
    futures = [pool.submit(_fetch, provider, lk) for lk in lookups]
    done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    pool.shutdown(wait=False, cancel_futures=True)
    senders: list[tuple[str, Verdict]] = []
    failed = 0
    for future in futures:
        if future not in done:
            continue
        try:
            got = future.result()
        except ProviderError:
            failed += 1
            continue
        if got is not None:
            senders.append(got)
    problems = []
    if pending:
        problems.append(f"{len(pending)} not answered within {budget_s:.0f} s")
    if failed:
        problems.append(f"{failed} could not be fetched")
    if skipped:
        problems.append(f"{skipped} more not looked at")
    attribute(verdict, senders, "; ".join(problems) or None)
