"""`callquality serve`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP under uvicorn.

HTTP serves `POST /slack/events` (commands, events, interactivity), `GET /healthz` and the
provider webhooks (`POST /webhooks/<provider>`) through `bot.asgi`. `HttpServer` is that app
under uvicorn, in a background thread or in the calling one, on a given port or a free
loopback one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import uvicorn
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackClientError

from bot import messages as m
from bot import redact
from bot.app import build_app
from bot.asgi import (
    BODY_TIMEOUT_S,
    EVENTS_PATH,
    HEADER_TIMEOUT_S,
    HEALTH_PATH,
    MAX_BODY_BYTES,
    WEBHOOKS_PATH,
    FormSafeBoltRequest,
    SlackAsgi,
    header_deadline,
)
from bot.config import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.webhooks import Webhooks

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "FormSafeBoltRequest", "HttpServer", "serve"]

log = logging.getLogger("callquality.server")

HTTP_THREADS = 32  # a request holds a dispatch thread only until its ack
KEEP_ALIVE_S = 5.0
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; Slack's are under 2 kB
SHUTDOWN_GRACE_S = 1.0
SLACK_FIELDS = ("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url")
BEHAVIOUR_FIELDS = (
    "http_timeout_s",
    "lookup_workers",
    "lookup_timeout_s",
    "cache_ttl_s",
    "provider_deadline_s",
    "provider_concurrency",
    "provider_max_bytes",
    "http_max_body_bytes",
    "http_header_timeout_s",
    "http_body_timeout_s",
    "callquality_data_dir",
    "redis_url",
)
WEBHOOK_FIELDS = (
    "alert_channel",
    "alert_min_grade",
    "webhook_delay_s",
    "webhook_retries",
    "webhook_retry_s",
    "webhook_max_age_s",
    "webhook_queue_size",
)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, woken by `request_stop` instead of polling every 0.1 s, with a short
    shutdown: in-flight responses get `SHUTDOWN_GRACE_S`, idle sockets are closed at once."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        assert self._wake is not None
        while not self.should_exit:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
            await self.on_tick(0)  # refreshes the Date header

    def request_stop(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self.request_stop()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_S
        while self.server_state.tasks and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.server_state.connections):
            connection.transport.close()
        for task in list(self.server_state.tasks):
            task.cancel()


def _listen(host: str, port: int) -> socket.socket:
    # Made here (uvicorn would make its own) so `port` is known before the loop starts; with
    # IPPROTO_TCP named, asyncio sets TCP_NODELAY on each connection, else a response's head
    # and body wait out the peer's delayed ACK (40 ms on a keep-alive connection).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class HttpServer:
    """The ASGI app under uvicorn (`port=0`: a free port); `start` runs it in a thread."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = HTTP_THREADS,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
        webhooks: Webhooks | None = None,
    ):
        self._host = host
        self._sock = _listen(host, port)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="http-dispatch")
        asgi = SlackAsgi(
            app,
            self._pool,
            max_body_bytes=max_body_bytes,
            body_timeout_s=body_timeout_s,
            webhooks=webhooks,
        )
        config = uvicorn.Config(
            asgi,
            http=header_deadline(header_timeout_s),
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_keep_alive=int(KEEP_ALIVE_S),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        )
        self._server = _Uvicorn(config)
        self._thread = threading.Thread(target=self.run, name="http-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        if not self._server.ready.wait(timeout=10):
            raise RuntimeError("the HTTP server did not start")
        return self

    def run(self) -> None:
        """Serve in the calling thread until `stop` (or SIGINT/SIGTERM in the main thread)."""
        self._server.run(sockets=[self._sock])

    def stop(self) -> None:
        self._server.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- serve ---------------------------------------------------------------------------------


def check_settings(settings: Settings) -> None:
    """Raise SystemExit naming the missing Slack variables for the chosen mode."""
    socket_mode = settings.slack_app_token is not None
    missing = [] if settings.slack_bot_token is not None else ["SLACK_BOT_TOKEN"]
    if not socket_mode and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        raise SystemExit(
            m.MISSING_SLACK_SETTINGS.format(
                mode="Socket Mode" if socket_mode else "HTTP mode",
                names=" and ".join(missing),
                hint="" if socket_mode else m.SOCKET_MODE_HINT,
            )
        )


def sandbox_settings(sandbox: Any, settings: Settings) -> Settings:
    """Provider settings from the sandbox; Slack and behaviour settings from `settings`."""
    names = SLACK_FIELDS + BEHAVIOUR_FIELDS + WEBHOOK_FIELDS
    keep = {name: getattr(settings, name) for name in names}
    return sandbox.settings(Settings, **{k: v for k, v in keep.items() if v is not None})


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    """Bolt's builtin Socket Mode handler for `app`. It asks for the WebSocket URL
    (`apps.connections.open`) with `app.client`, so at SLACK_API_URL."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token)


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    redact.install(settings.secrets(), root.handlers)


def serve(
    settings: Settings, *, port: int | None = None, sandbox: bool = False, host: str = "0.0.0.0"
) -> None:
    """Run the bot until interrupted. Raises SystemExit when Slack settings are missing.

    HTTP mode listens on `port` (3000 when not given). In Socket Mode an HTTP server is opened
    only when `port` is given: it then carries the provider webhooks and the health check."""
    check_settings(settings)
    box = None
    if sandbox:
        from providers.sandbox import Sandbox

        box = Sandbox().start()
        settings = sandbox_settings(box, settings)
        # The sandbox's stats are complete when its calls end: no need to wait for them.
        settings = settings.model_copy(update={"webhook_delay_s": 0.0, "webhook_retries": 0})
    configure_logging(settings)
    from bot import webhooks as hooks
    from bot.runtime import Runtime

    try:
        runtime = Runtime(settings)
        try:
            app = build_app(settings, runtime=runtime)
        except BoltError:
            raise SystemExit(m.TOKEN_REJECTED) from None
        except (SlackClientError, OSError) as exc:  # URLError is an OSError
            raise SystemExit(
                m.SLACK_UNREACHABLE.format(url=settings.slack_api_url, error=type(exc).__name__)
            ) from None
        webhooks = hooks.build(settings, runtime, app.client, store=runtime.store)
        # Everything made so far (modules, fonts, the app) lives as long as the process: leave
        # it out of the collector's scans so that large lookups do not pay for rescanning it.
        gc.freeze()
        socket_mode = settings.slack_app_token is not None
        server = None
        if not socket_mode or port is not None:
            server = HttpServer(
                app,
                host=host,
                port=3000 if port is None else port,
                max_body_bytes=settings.http_max_body_bytes,
                header_timeout_s=settings.http_header_timeout_s,
                body_timeout_s=settings.http_body_timeout_s,
                webhooks=webhooks,
            )
            log.info(
                "callquality: HTTP on %s (%sGET %s%s)%s",
                server.url,
                "" if socket_mode else f"POST {EVENTS_PATH}, ",
                HEALTH_PATH,
                f", POST {WEBHOOKS_PATH}<provider> to {settings.alert_channel}" if webhooks else "",
                " with sandbox providers" if sandbox else "",
            )
        if box is not None and webhooks is not None:
            threading.Thread(
                target=lambda: log.info(
                    "sandbox webhook: %s", webhooks.handle_webhook(*box.webhook("cf"))
                ),
                daemon=True,
            ).start()
        try:
            if socket_mode:
                log.info("callquality: Socket Mode%s", " (sandbox providers)" if sandbox else "")
                assert settings.slack_app_token is not None
                handler = socket_mode_handler(app, settings.slack_app_token.get_secret_value())
                if server is not None:
                    server.start()
                handler.start()
            elif server is not None:
                server.run()
        except KeyboardInterrupt:  # Ctrl-C: uvicorn has already closed the connections
            log.info("callquality: stopped")
        finally:
            if server is not None:
                server.stop()
            if webhooks is not None:
                webhooks.close()
            runtime.close()
    finally:
        if box is not None:
            box.stop()
