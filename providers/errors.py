"""The error tree: every error the product expects, each with a message fit for a user.

Errors::

    CallQualityError                 every error we expect; `str(err)` is safe to show a user
    ├── InputError                   bad command or ids; nothing was sent (CLI exit code 2)
    │   └── UnknownProviderError     names the valid choices and a did-you-mean
    └── ProviderError                the provider could not answer
        ├── ConfigError              credentials missing: names the exact variables to set
        ├── AuthError                401/403: the credentials were refused
        ├── NotFoundError            404: no such session / participant / peer
        ├── RateLimitedError         429: `retry_after` seconds (None when not given)
        ├── UnavailableError         timeouts, connection errors, 5xx after retries
        └── BadResponseError         not the JSON we expect: malformed, too large, too deep, or
                                     about another participant than the one asked for

httpx errors are translated at the provider boundary (`providers.http.request_json`): nothing
above `providers/` sees an httpx exception. Messages never contain secrets: they are built from
the status, the provider's message (masked, then truncated: `shown`) and the variable *names*;
`bot.lookup.run` masks every configured secret once more on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[redacted]"
# What a provider may echo back from our request: a bearer header, a JWT (VideoSDK and Stream
# send bare ones), a Slack token.
SECRET_SHAPES = re.compile(
    r"(?i:\bbearer\s+\S+)"
    r"|\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    r"|\b(?:xox[a-z]-|xapp-)[A-Za-z0-9-]+"
)


class CallQualityError(Exception):
    """Base of every expected error; the message is fit for a user."""


class InputError(CallQualityError):
    """The command or an id is malformed. Nothing was sent to any provider."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.usage = usage


class UnknownProviderError(InputError):
    def __init__(self, word: str, choices: list[str], suggestion: str | None = None):
        self.word = word
        self.choices = choices
        self.suggestion = suggestion
        hint = f" Did you mean `{suggestion}`?" if suggestion else ""
        shown = word if len(word) <= 40 else word[:40] + "…"
        super().__init__(f"Unknown provider `{shown}`.{hint} Choose one of: {', '.join(choices)}.")


class ProviderError(CallQualityError):
    provider: str = ""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status


class ConfigError(ProviderError):
    def __init__(self, provider: str, label: str, missing: list[str]):
        self.missing = missing
        super().__init__(
            f"{label} is not configured: set {', '.join(missing)} "
            "in the environment (or a .env file).",
            provider=provider,
        )


class AuthError(ProviderError):
    pass


class NotFoundError(ProviderError):
    pass


class RateLimitedError(ProviderError):
    def __init__(self, message: str, *, provider: str = "", retry_after: float | None = None):
        super().__init__(message, provider=provider, status=429)
        self.retry_after = retry_after


class UnavailableError(ProviderError):
    pass


class BadResponseError(ProviderError):
    pass


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every one of `secrets` and anything shaped like a credential masked."""
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return SECRET_SHAPES.sub(MASK, text)


def shown(value: str, secrets: Iterable[str] = ()) -> str:
    """`value` as quoted inside a message: credentials masked (before the cut, so no part of
    one is left), backticks swapped (they would end the quote), cut to 40 characters so a
    hostile or runaway value cannot flood the answer."""
    value = mask(value, secrets).replace("`", "'")
    return value if len(value) <= 40 else value[:40] + "…"
