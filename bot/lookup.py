"""One lookup end to end, shared by the CLI, the demo and the Slack bot:
Lookup -> provider fetch -> normalized report -> verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot.config import Settings
from bot.grading import Verdict, grade
from bot.senders import check_other_side
from providers.base import Lookup, all_providers, provider_label
from providers.errors import BadResponseError, ProviderError, mask
from providers.models import Listing, Report

if TYPE_CHECKING:
    from bot.overview import Overview


@dataclass
class Outcome:
    lookup: Lookup
    result: Report | Listing
    verdict: Verdict | None  # None when the result is a listing
    elapsed_s: float
    overview: Overview | None = None  # a session listing with every participant graded

    @property
    def report(self) -> Report | None:
        return self.result if isinstance(self.result, Report) else None


def run(
    lookup: Lookup,
    settings: Settings,
    transport: httpx.BaseTransport | None = None,
    *,
    other_side: bool = True,
) -> Outcome:
    """Fetch and grade. Raises the ProviderError tree; never an httpx error. `other_side`:
    check a bad receive side against the senders' uplinks (`bot.senders`); a session overview
    turns it off, as it grades every participant itself."""
    started = time.perf_counter()
    provider = all_providers()[lookup.provider].from_settings(settings, transport)
    try:
        result = provider.fetch(lookup)
        verdict = grade(result) if isinstance(result, Report) else None
        if verdict is not None and other_side:
            check_other_side(provider, result, verdict)
    except RecursionError:  # a body nested deeper than any parser or model here can follow
        raise BadResponseError(
            f"{provider_label(lookup.provider)} answered with data nested too deeply to read.",
            provider=lookup.provider,
        ) from None
    except ProviderError as err:
        # The last fence before Slack, the terminal and the logs: no configured secret in it.
        err.args = (mask(str(err), settings.secrets()),)
        raise
    finally:
        provider.close()
    overview = None
    if isinstance(result, Listing) and lookup.kind == "session":
        from bot import overview as ranking

        overview = ranking.rank(
            result,
            lambda one: run(one, settings, transport, other_side=False),
            workers=settings.overview_workers,
            budget_s=min(settings.overview_budget_s, settings.lookup_timeout_s * 0.75),
        )
    return Outcome(lookup, result, verdict, time.perf_counter() - started, overview)
