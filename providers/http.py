"""The shared HTTP call: one GET with bounded retries, every failure translated into the
ProviderError tree (`providers.errors`).

Providers build their client with `make_client` (timeouts on by default, no redirects, a total
deadline per request and a cap on the body's size: `providers.body`) and may pass a
`transport`, so tests and the sandbox swap the transport, not the code. Nothing above
`providers/` sees an httpx exception.
"""

from __future__ import annotations

import email.utils
import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from providers import body as bodies
from providers.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    shown,
)

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_DEADLINE_S = 20.0  # one request_json call, retries and a slow body included
DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # an hour of per-second stats is ~6 MB


@dataclass(frozen=True)
class Limits:
    deadline_s: float = DEFAULT_DEADLINE_S
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(settings.provider_deadline_s, settings.provider_max_bytes)


class ProviderClient(httpx.Client):
    """An httpx.Client that carries the limits `request_json` applies to every call."""

    limits: Limits = Limits()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verified TLS context every client shares (httpx's default: certifi, or SSL_CERT_FILE
    / SSL_CERT_DIR). Each lookup makes a client, and a client that builds its own context
    loads the CA bundle: ~30 ms of CPU under the interpreter lock, which a burst of lookups
    used to take from the acks."""
    return httpx.create_ssl_context()


def make_client(
    base_url: str,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: Limits | None = None,
) -> ProviderClient:
    client = ProviderClient(
        base_url=base_url.rstrip("/") + "/",
        headers={"Accept": "application/json", "User-Agent": "callquality/0.1", **(headers or {})},
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        verify=tls_context(),
    )
    client.limits = limits or Limits()
    return client


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


def _sent_secrets(client: httpx.Client, headers: Mapping[str, str] | None) -> list[str]:
    """The credentials this request carried, which an error message may echo back."""
    values = [client.headers.get("authorization"), (headers or {}).get("Authorization")]
    out = [v for v in values if v]
    return out + [v.split(None, 1)[1] for v in out if " " in v.strip()]


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
    limits = getattr(client, "limits", None) or Limits()
    deadline = time.monotonic() + limits.deadline_s
    late = UnavailableError(
        f"{label} did not answer within {limits.deadline_s:g} s.", provider=provider
    )
    last: ProviderError | None = None
    tried = 0
    for attempt in range(retry.attempts):
        if attempt:
            wait = min(retry.backoff_s * 2 ** (attempt - 1), retry.max_backoff_s)
            if isinstance(last, RateLimitedError) and last.retry_after is not None:
                wait = last.retry_after
            if time.monotonic() + wait >= deadline:
                break  # no time left for another try
            retry.sleep(wait)
        tried += 1
        try:
            resp = bodies.fetch(
                client,
                path,
                params=params,
                headers=dict(headers or {}),
                deadline=deadline,
                max_bytes=limits.max_bytes,
            )
        except bodies.Late:
            raise late from None
        except bodies.TooLarge:
            raise BadResponseError(
                f"{label}'s response was too large (over {limits.max_bytes / 2**20:g} MB).",
                provider=provider,
            ) from None
        except bodies.UnknownEncoding:
            raise BadResponseError(
                f"{label} answered with a body it did not encode as announced.", provider=provider
            ) from None
        except httpx.TimeoutException:
            last = late if time.monotonic() >= deadline else None
            last = last or UnavailableError(f"{label} did not answer in time.", provider=provider)
            continue
        except httpx.TransportError as exc:
            last = UnavailableError(
                f"{label} could not be reached ({type(exc).__name__}).", provider=provider
            )
            continue
        status = resp.status
        body: Any = None
        decoded = True
        try:
            body = json.loads(resp.content) if loads is None else loads(resp.content)
        except RecursionError:
            raise BadResponseError(
                f"{label} answered with JSON nested too deeply to read.", provider=provider
            ) from None
        except ValueError:
            decoded = False
        detail = error_message(body) if decoded else None
        suffix = f" ({shown(detail, _sent_secrets(client, headers))})" if detail else ""
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
    if isinstance(last, UnavailableError) and tried > 1:
        raise UnavailableError(
            f"{last} Tried {tried} times.", provider=provider, status=last.status
        )
    raise last
