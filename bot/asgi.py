"""The HTTP front of the Bolt app, as an ASGI app under uvicorn.

Why not Bolt's own adapters: the body must be bounded (size and read time) and its signature
checked before anything parses or logs it (`bot.inbound`), and the sync `App.dispatch` must run
off the event loop, in a pool of our own. Idle and dripping connections then cost a socket,
not a thread, and `H11Protocol` with a header deadline drops those that never finish a request.

Routes: `POST /slack/events` (commands, events, interactivity), `GET /healthz` and
`POST /webhooks/<provider>` (provider deliveries, verified by `bot.webhooks` against the raw
body, which is bounded here the same way).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot import inbound
from bot import messages as m

log = logging.getLogger("callquality.http")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
WEBHOOKS_PATH = "/webhooks/"  # + cloudflare | videosdk | stream
MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_S = 10.0
HEADER_TIMEOUT_S = 10.0


class FormSafeBoltRequest(BoltRequest):
    """Bolt reads any form body containing the word "payload" as an interactivity payload and
    gets `{}` when there is no `payload=` field, so `/callquality cf payload` became an
    unhandled 404. Re-parse such bodies as the plain form they are. The raw body is untouched,
    so the signature check still sees the bytes Slack signed."""

    def __init__(self, *, body: Any, context: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(body=body, context=context, **kwargs)
        raw = self.raw_body
        if self.mode == "http" and not self.body and raw and not raw.lstrip().startswith("{"):
            form = dict(parse_qsl(raw, keep_blank_values=True))
            if form and "payload" not in form:
                self.body = form
                self.context = build_context(BoltContext(context or {}), form)

    def to_copyable(self) -> FormSafeBoltRequest:
        return FormSafeBoltRequest(
            body=self.raw_body if self.mode == "http" else self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


def header_deadline(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, closing a connection that has not sent a whole request
    head within `timeout_s` of connecting. (After a response, uvicorn's keep-alive timeout
    already bounds the wait for the next head.)"""

    class Protocol(H11Protocol):
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._timer = asyncio.get_running_loop().call_later(timeout_s, self._too_slow)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

        def _too_slow(self) -> None:
            self._timer = None
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

    return Protocol


class SlackAsgi:
    """`app` behind the routes, the limits and the checks; `executor` runs `App.dispatch`."""

    def __init__(
        self,
        app: App,
        executor: Executor,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
        webhooks: Any = None,
    ):
        self.app = app
        self.webhooks = webhooks
        self.executor = executor
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        # Bolt keeps the secret it verifies with; we verify first with the same one.
        self._secret: str = getattr(app, "_signing_secret", "") or ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return await _reply(send, 200, "ok")
        if path.startswith(WEBHOOKS_PATH):
            return await self._webhook(scope, receive, send)
        if path != EVENTS_PATH:
            return await _reply(send, 404, "not found")
        if method != "POST":
            return await _reply(send, 405, "method not allowed")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        try:
            body = await self._read(receive, headers)
            if not inbound.is_ssl_check(body):
                inbound.verify(body, headers, self._secret)
            text = inbound.check(body, headers)
        except _Gone:
            return
        except _TooLarge:
            return await self._refuse(send, 413, f"body over {self.max_body_bytes} bytes")
        except TimeoutError:
            return await self._refuse(send, 408, "body not received in time")
        except inbound.Refused as refused:
            return await self._refuse(send, refused.status, refused.reason)
        query = scope.get("query_string", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        resp = await loop.run_in_executor(self.executor, self._dispatch, text, query, headers)
        content_type = (resp.headers.get("content-type") or ["text/plain;charset=utf-8"])[0]
        await _reply(send, resp.status, resp.body, content_type=content_type)

    async def _webhook(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """A provider delivery: the raw body (bounded, read in time) to `handle_webhook`, which
        verifies it before anything else and may fetch a key, so it runs in the pool."""
        if self.webhooks is None:
            return await _reply(send, 404, m.WEBHOOKS_OFF)
        if scope["method"] != "POST":
            return await _reply(send, 405, "method not allowed")
        from bot.webhooks.verify import MAX_BODY

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await self._read(receive, headers, limit=MAX_BODY)
        except _Gone:
            return
        except _TooLarge:
            return await self._refuse(send, 413, f"body over {MAX_BODY} bytes")
        except TimeoutError:
            return await self._refuse(send, 408, "body not received in time")
        provider = scope["path"][len(WEBHOOKS_PATH) :].strip("/")
        loop = asyncio.get_running_loop()
        status, text = await loop.run_in_executor(
            self.executor, self.webhooks.handle_webhook, provider, headers, body
        )
        await _reply(send, status, text)

    def _dispatch(self, text: str, query: str, headers: dict[str, str]) -> BoltResponse:
        try:
            return self.app.dispatch(FormSafeBoltRequest(body=text, query=query, headers=headers))
        except Exception:
            log.exception(m.DISPATCH_FAILED)
            return BoltResponse(status=500, body="")

    async def _read(self, receive: Any, headers: dict[str, str], limit: int | None = None) -> bytes:
        limit = self.max_body_bytes if limit is None else limit
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge()
        async with asyncio.timeout(self.body_timeout_s):
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Gone()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _TooLarge()
                chunks.append(chunk)
                if not message.get("more_body"):
                    return b"".join(chunks)

    async def _refuse(self, send: Any, status: int, reason: str) -> None:
        log.warning(m.REQUEST_REFUSED.format(status=status, reason=reason))
        await _reply(send, status, reason, close=True)


async def _reply(
    send: Any,
    status: int,
    body: str,
    *,
    content_type: str = "text/plain;charset=utf-8",
    close: bool = False,
) -> None:
    data = body.encode()
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(data))]
    if close:  # the rest of a refused body is not read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
