"""build_app(settings) -> App: the Slack client, the Bolt app and its listeners. Thin."""

from __future__ import annotations

import functools
import logging
import ssl

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot import listeners
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack_retry import RateLimitRetry


@functools.cache
def _tls() -> ssl.SSLContext:
    # Without one, every Web API call builds a context and loads the CA store (~25 ms of CPU
    # under the interpreter lock, taken from the acks). One, shared, as slack_sdk allows.
    return ssl.create_default_context()


# Bolt logs whole request bodies at INFO and DEBUG (an invalid signature, a skipped event):
# user text and arbitrary sizes. Its warnings and errors are what an operator needs.
BOLT_LOG_LEVEL = logging.WARNING


def _secret(value) -> str:
    return value.get_secret_value() if value is not None else ""


def build_app(
    settings: Settings, *, runtime: Runtime | None = None, verify_token: bool = True
) -> App:
    """The Bolt app. `runtime` (job runner and caches) defaults to a fresh one;
    `verify_token=False` skips the `auth.test` call at construction."""
    logging.getLogger("slack_bolt").setLevel(BOLT_LOG_LEVEL)
    client = WebClient(
        token=_secret(settings.slack_bot_token),
        base_url=settings.slack_api_url,
        ssl=_tls(),
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitRetry(),
        ],
    )
    runtime = runtime or Runtime(settings)
    app = App(
        client=client,
        signing_secret=_secret(settings.slack_signing_secret),
        process_before_response=False,
        listener_executor=runtime.listener_pool,
        token_verification_enabled=verify_token,
    )
    listeners.register(app, runtime)
    return app
