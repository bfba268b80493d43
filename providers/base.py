"""Provider protocol, registry, error tree and the shared HTTP call.

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
        └── BadResponseError         the body was not the JSON we expect

httpx errors are translated at the provider boundary (`request_json`): nothing above
`providers/` sees an httpx exception. Messages never contain secrets: they are built from the
status, the provider's message (truncated) and the variable *names*.
"""

from __future__ import annotations

import difflib
import email.utils
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import quote

import httpx

from providers.models import Listing, Report

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("callquality.providers")


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


# --- the lookup a command asks for -------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """A parsed, validated request for one provider. Pure data: no network has been touched.

    `kind` is "participant" (a Report comes back) or "session" (a Listing comes back); a
    provider may use other kinds of its own (e.g. Stream's short form, which may resolve to a
    Report or to a Listing of candidates).
    """

    provider: str
    kind: str
    ids: tuple[tuple[str, str], ...]
    window: tuple[datetime | None, datetime | None] | None = None
    window_text: str | None = None  # as the user wrote it, e.g. "last 10m"
    args: tuple[str, ...] = field(default=())  # the words after the provider word

    @property
    def id_map(self) -> dict[str, str]:
        return dict(self.ids)

    def command(self) -> str:
        """The command words that repeat this lookup (`cf <peer_id>`)."""
        return " ".join((self.provider, *self.args))


class Provider(Protocol):
    """One video platform. Implementations live in `providers/<name>.py`.

    Class attributes declare what the registry and the help text need; `parse` is pure and
    validates everything before any request; `fetch` does the HTTP work through the injected
    `httpx.Client` and returns the normalized report (or a listing).
    """

    name: ClassVar[str]  # registry key and command word
    label: ClassVar[str]  # "Cloudflare RealtimeKit"
    aliases: ClassVar[tuple[str, ...]]
    settings_needed: ClassVar[tuple[str, ...]]  # env var names of the credentials
    usage: ClassVar[tuple[str, ...]]  # command forms, e.g. "cf <peer_id>"
    example: ClassVar[str]  # one example command

    @classmethod
    def parse(cls, args: list[str]) -> Lookup: ...

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.BaseTransport | None = None
    ) -> Provider: ...

    def fetch(self, lookup: Lookup) -> Report | Listing: ...

    def close(self) -> None: ...


_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: add a provider to the registry under its name."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin() -> None:
    # Imported for their @register side effect; done lazily so `providers.base` stays a leaf.
    import providers.cloudflare  # noqa: F401

    for mod in ("providers.videosdk", "providers.stream"):
        try:
            __import__(mod)
        except ModuleNotFoundError as exc:  # pragma: no cover - while a provider is absent
            if exc.name != mod:
                raise


_BUILTINS_LOADED = False


def all_providers() -> dict[str, type[Provider]]:
    # A flag, not "registry empty": importing one provider module directly (a test, a tool)
    # registers it alone, and the others must still be loaded here.
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _load_builtin()
        _BUILTINS_LOADED = True
    return dict(_REGISTRY)


def provider_words() -> dict[str, str]:
    """Every accepted command word (names and aliases) -> registry name."""
    words: dict[str, str] = {}
    for name, cls in all_providers().items():
        words[name] = name
        for alias in cls.aliases:
            words[alias] = name
    return words


def provider_label(name: str) -> str:
    """The provider's name for people ("Cloudflare RealtimeKit"); `name` itself when unknown."""
    cls = all_providers().get(name)
    return cls.label if cls is not None else name


def get_provider_class(word: str) -> type[Provider]:
    """Resolve a command word; raise UnknownProviderError naming the valid choices."""
    words = provider_words()
    key = word.strip().lower()
    if key in words:
        return all_providers()[words[key]]
    close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.5)
    choices = [
        f"{n} ({', '.join(c.aliases)})" if c.aliases else n for n, c in all_providers().items()
    ]
    raise UnknownProviderError(word, choices, close[0] if close else None)


# --- id validation -----------------------------------------------------------------------------

MAX_ID_LEN = 256
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-:.@+=]+$")


def _shown(value: str) -> str:
    value = value.replace("`", "'")
    return value if len(value) <= 40 else value[:40] + "…"


def check_uuid(what: str, value: str) -> str:
    if not value:
        raise InputError(f"The {what} is empty; it should be a UUID.")
    if not _UUID.match(value):
        raise InputError(
            f"`{_shown(value)}` is not a valid {what}: expected a UUID like "
            "`3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c`."
        )
    return value.lower()


def check_id(what: str, value: str, max_len: int = MAX_ID_LEN) -> str:
    """A generic opaque id: non-empty, bounded, no whitespace, no `/`, no `..`."""
    if not value:
        raise InputError(f"The {what} is empty.")
    if len(value) > max_len:
        raise InputError(f"The {what} is too long ({len(value)} characters; at most {max_len}).")
    if ".." in value or "/" in value or "\\" in value:
        raise InputError(
            f"`{_shown(value)}` is not a valid {what}: it may not contain `/` or `..`."
        )
    if not _SAFE_ID.match(value):
        raise InputError(
            f"`{_shown(value)}` is not a valid {what}: use letters, digits and - _ : . @ only."
        )
    return value


def segment(value: str) -> str:
    """Encode one path segment (ids are validated already; this is the second fence)."""
    return quote(value, safe="")


# --- the shared HTTP call ----------------------------------------------------------------------

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def make_client(
    base_url: str,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        headers={"Accept": "application/json", "User-Agent": "callquality/0.1", **(headers or {})},
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
    )


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_message(body: Any) -> str | None:
    """Best-effort message from the error bodies the providers use (see reference):
    Cloudflare `errors[{code,message}]`, Dyte `error{code,message}`, Stream `APIError.message`,
    VideoSDK `message|error|msg|statusMessage`."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        msg = errors[0].get("message")
        if isinstance(msg, str):
            return msg
    err = body.get("error")
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return err["message"]
    for key in ("message", "error", "msg", "statusMessage"):
        if isinstance(body.get(key), str):
            return body[key]
    return None


@dataclass
class RetryPolicy:
    """Bounded retries: 5xx and transport errors with exponential backoff; 429 only when the
    provider asks for a short wait (a chat answer should not hang for minutes)."""

    attempts: int = 3
    backoff_s: float = 0.4
    max_backoff_s: float = 4.0
    max_rate_limit_wait_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep


def request_json(
    client: httpx.Client,
    path: str,
    *,
    provider: str,
    label: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    auth_hint: str = "",
    not_found: str = "Not found.",
    retry: RetryPolicy | None = None,
    loads: Callable[[bytes], Any] | None = None,
) -> Any:
    """GET `path` (relative to the client's base URL) and return the decoded JSON body.

    Translates every httpx failure and error status into the ProviderError tree.
    `auth_hint` names the variables to check on 401/403; `not_found` is the 404 sentence.
    `loads` decodes the body bytes instead of the standard library (a faster decoder for
    large bodies); it must raise ValueError on anything that is not JSON.
    """
    retry = retry or RetryPolicy()
    last: ProviderError | None = None
    for attempt in range(retry.attempts):
        if attempt:
            wait = min(retry.backoff_s * 2 ** (attempt - 1), retry.max_backoff_s)
            if isinstance(last, RateLimitedError) and last.retry_after is not None:
                wait = last.retry_after
            retry.sleep(wait)
        try:
            resp = client.get(path, params=params, headers=headers)
        except httpx.TimeoutException:
            last = UnavailableError(f"{label} did not answer in time.", provider=provider)
            continue
        except httpx.TransportError as exc:
            last = UnavailableError(
                f"{label} could not be reached ({type(exc).__name__}).", provider=provider
            )
            continue
        status = resp.status_code
        body: Any = None
        decoded = True
        try:
            body = resp.json() if loads is None else loads(resp.content)
        except ValueError:
            decoded = False
        detail = error_message(body) if decoded else None
        suffix = f" ({_shown(detail)})" if detail else ""
        if 200 <= status < 300:
            if not decoded:
                raise BadResponseError(
                    f"{label} answered with a body that is not JSON.",
                    provider=provider,
                    status=status,
                )
            return body
        if status in (401, 403):
            what = "rejected the credentials" if status == 401 else "refused access"
            raise AuthError(
                f"{label} {what} (HTTP {status}){suffix}. {auth_hint}".strip(),
                provider=provider,
                status=status,
            )
        if status == 404:
            raise NotFoundError(f"{not_found}{suffix}", provider=provider, status=404)
        if status == 429:
            after = parse_retry_after(resp.headers.get("retry-after"))
            if after is None and resp.headers.get("x-ratelimit-reset"):
                try:
                    after = max(0.0, float(resp.headers["x-ratelimit-reset"]) - time.time())
                except ValueError:
                    after = None
            last = RateLimitedError(
                f"{label} is rate limiting us"
                + (f": try again in {max(1, round(after))} s." if after is not None else "."),
                provider=provider,
                retry_after=after,
            )
            if after is None or after > retry.max_rate_limit_wait_s:
                raise last
            continue
        if status >= 500:
            last = UnavailableError(
                f"{label} is unavailable (HTTP {status}){suffix}.", provider=provider, status=status
            )
            continue
        if status == 400:
            raise BadResponseError(
                f"{label} rejected the request (HTTP 400){suffix}.", provider=provider, status=400
            )
        raise BadResponseError(
            f"{label} answered HTTP {status}{suffix}.", provider=provider, status=status
        )
    assert last is not None
    if isinstance(last, UnavailableError) and retry.attempts > 1:
        raise UnavailableError(
            f"{last} Tried {retry.attempts} times.", provider=provider, status=last.status
        )
    raise last


def missing_settings(settings: Settings, names: tuple[str, ...]) -> list[str]:
    """The env var names among `names` whose setting is empty."""
    out = []
    for name in names:
        value = getattr(settings, name.lower(), None)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if not value:
            out.append(name)
    return out
