"""One lookup end to end, shared by the CLI, the demo and the Slack bot:
Lookup -> provider fetch -> normalized report -> verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.verdicts import Verdict, grade
from providers.base import Lookup, all_providers, provider_label
from providers.errors import BadResponseError, ProviderError, mask
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
    verdict = grade(result) if isinstance(result, Report) else None
    return Outcome(lookup, result, verdict, time.perf_counter() - started)
