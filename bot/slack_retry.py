"""Retries of Slack Web API calls that were rate limited (HTTP 429).

The SDK's own handler retries a fixed number of times; a verdict rate limited four times in a
row was lost. Here each wait is what Slack asks for (`Retry-After`) and at least an exponential
backoff, for up to `max_retry_count` tries within `max_wait_s` in all, after which the caller
sees the error and tells the user (`bot.answers`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

MAX_RETRIES = 8
BACKOFF_S = 0.25
MAX_BACKOFF_S = 8.0
MAX_WAIT_S = 90.0


def _retry_after(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return 0.0
    return 0.0


class RateLimitRetry(RetryHandler):
    def __init__(
        self,
        max_retry_count: int = MAX_RETRIES,
        backoff_s: float | None = None,
        max_wait_s: float = MAX_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(max_retry_count=max_retry_count)
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.max_wait_s = max_wait_s
        self.sleep = sleep

    def _wait(self, state: RetryState, response: HttpResponse) -> float:
        backoff = min(self.backoff_s * 2**state.current_attempt, MAX_BACKOFF_S)
        return max(_retry_after(response), backoff)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        waited = (state.custom_values or {}).get("waited", 0.0)
        return waited + self._wait(state, response) <= self.max_wait_s

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # _can_retry only says yes to a 429 response
        wait = self._wait(state, response)
        values = state.custom_values or {}
        values["waited"] = values.get("waited", 0.0) + wait
        state.custom_values = values
        state.next_attempt_requested = True
        self.sleep(wait)
        state.increment_current_attempt()


def rate_limited(exc: BaseException) -> bool:
    """A Slack call that was still rate limited after the retries."""
    if not isinstance(exc, SlackApiError):
        return False
    response: Any = exc.response
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return getattr(response, "status_code", None) == 429 or error == "ratelimited"
