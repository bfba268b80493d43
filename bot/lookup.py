"""One lookup end to end, shared by the CLI, the demo and the Slack bot:
Lookup -> provider fetch -> normalized report -> verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.grading import Verdict, grade
from bot.senders import check_other_side
from providers.base import Lookup, all_providers
from providers.models import Listing, Report


@dataclass
class Outcome:
    lookup: Lookup
    result: Report | Listing
    verdict: Verdict | None  # None when the result is a listing
    elapsed_s: float

    @property
    def report(self) -> Report | None:
        return self.result if isinstance(self.result, Report) else None


def run(
    lookup: Lookup, settings: Settings, transport: httpx.BaseTransport | None = None
) -> Outcome:
    """Fetch and grade. Raises the ProviderError tree; never an httpx error."""
    started = time.perf_counter()
    provider = all_providers()[lookup.provider].from_settings(settings, transport)
    try:
        result = provider.fetch(lookup)
        verdict = grade(result) if isinstance(result, Report) else None
        if verdict is not None and isinstance(result, Report):
            check_other_side(provider, result, verdict)
    finally:
        provider.close()
    return Outcome(lookup, result, verdict, time.perf_counter() - started)
