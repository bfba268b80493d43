"""chat.postMessage rate limited several times in a row: retried honouring Retry-After, and the
user is told when Slack never lets the answer through."""

from __future__ import annotations

import pytest

from bot import slack_retry
from tests.conftest import CHANNEL, RunningBot, peer
from tests.slack_stub import SlackStub


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch) -> None:
    """Before the `bot` fixture builds its Slack client."""
    monkeypatch.setattr(slack_retry, "BACKOFF_S", 0.001)


def test_a_verdict_rate_limited_four_times_is_still_posted(bot: RunningBot, sandbox, slack):
    slack.rate_limits["chat.postMessage"] = 4
    bot.command(" ".join(peer(sandbox, "healthy")))
    slack.wait_for(lambda: slack.shared_files(), timeout=15)
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses[:5] == [429, 429, 429, 429, 200]
    assert len(slack.parents(CHANNEL)) == 1 and not slack.responses


def test_the_user_is_told_when_slack_never_lets_the_answer_through(
    bot: RunningBot, sandbox, slack: SlackStub
):
    slack.rate_limits["chat.postMessage"] = 1000
    bot.command(" ".join(peer(sandbox, "healthy")))
    reply = slack.wait_for(lambda: slack.responses, timeout=15)[0]
    assert "rate limiting my messages" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert len(slack.calls_to("chat.postMessage")) == 1 + slack_retry.MAX_RETRIES


def test_each_wait_is_what_slack_asks_and_at_least_the_backoff():
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    slept: list[float] = []
    handler = slack_retry.RateLimitRetry(backoff_s=0.5, max_wait_s=10, sleep=slept.append)
    request = HttpRequest(method="POST", url="https://slack.test/api/x", headers={})
    state = RetryState()
    for after in ("3", "0", "0", "0", "0"):
        response = HttpResponse(status_code=429, headers={"Retry-After": [after]})
        if not handler.can_retry(state=state, request=request, response=response):
            break
        handler.prepare_for_next_attempt(state=state, request=request, response=response)
    assert slept == [3.0, 1.0, 2.0, 4.0]  # the fifth would pass 10 s in all
