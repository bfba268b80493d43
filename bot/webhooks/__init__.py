"""Provider webhooks: verify the delivery, pick the trigger, grade the call later, post it.

`build(settings, runtime, client)` wires the pieces for `serve`; `Webhooks.handle_webhook` is
the server-independent entry point (see `bot.webhooks.handler` for its answers). The store
behind deduplication and the call -> message map is injected (`bot.webhooks.store`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.grading import Grade
from bot.webhooks.handler import Publisher, Webhooks
from bot.webhooks.store import Claims, MemoryStore, Messages, SharedStore
from bot.webhooks.verify import KeySource, Verifier

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.runtime import Runtime

PATH_PREFIX = "/webhooks/"
VIDEOSDK_KEY_PATH = "/v2/public/rsa-public-key"
GRADES = {"fair": Grade.FAIR, "poor": Grade.POOR}


def min_grade(value: str) -> Grade:
    try:
        return GRADES[value.strip().lower()]
    except KeyError:
        raise SystemExit(f"ALERT_MIN_GRADE must be fair or poor, not {value!r}.") from None


def verifier(settings: Settings) -> Verifier:
    timeout = settings.http_timeout_s
    return Verifier(
        cloudflare_keys=KeySource(settings.cloudflare_webhook_key_url, timeout_s=timeout),
        videosdk_keys=KeySource(
            settings.videosdk_base_url.rstrip("/") + VIDEOSDK_KEY_PATH, timeout_s=timeout
        ),
        stream_secret=lambda: (
            settings.stream_api_secret.get_secret_value() if settings.stream_api_secret else None
        ),
    )


def build(
    settings: Settings,
    runtime: Runtime,
    client: WebClient,
    *,
    claims: Claims | None = None,
    messages: Messages | None = None,
    publisher: Publisher | None = None,
    store: object | None = None,
) -> Webhooks | None:
    """The webhook handling for `serve`, or None when ALERT_CHANNEL is not set. `store` is
    the bot's shared store (`bot.store`); without one, claims live in this process only."""
    if not settings.alert_channel and publisher is None:
        return None
    store = SharedStore(store) if store is not None else MemoryStore()
    messages = messages if messages is not None else store
    if publisher is None:
        from bot.webhooks.post import SlackAlerts
        from bot.webhooks.thread import completer

        assert settings.alert_channel
        publisher = SlackAlerts(
            client,
            settings.alert_channel,
            messages,
            after_first_post=completer(runtime, client, settings.alert_channel),
        )
    return Webhooks(
        verifier=verifier(settings),
        lookup=lambda lookup: runtime.lookup(lookup, refresh=True),
        publisher=publisher,
        claims=claims if claims is not None else store,
        min_grade=min_grade(settings.alert_min_grade),
        delay_s=settings.webhook_delay_s,
        retries=settings.webhook_retries,
        retry_s=settings.webhook_retry_s,
        max_age_s=settings.webhook_max_age_s,
        queue_size=settings.webhook_queue_size,
        posted=lambda key: messages.get(key) is not None,
    )


__all__ = ["PATH_PREFIX", "Webhooks", "build", "min_grade", "verifier"]
