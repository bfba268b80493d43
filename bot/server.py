"""`callquality serve`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP under waitress.

HTTP serves `POST /slack/events` (commands, events, interactivity) and `GET /healthz`.
`HttpServer` is the same WSGI app under the same server, usable on a free loopback port.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import waitress
from slack_bolt import App, BoltContext
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.error import BoltError
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError

from bot import messages as m
from bot import redact
from bot.app import build_app
from bot.config import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger("callquality.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 32  # a request holds a thread only until its ack
SLACK_FIELDS = ("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url")
BEHAVIOUR_FIELDS = ("http_timeout_s", "lookup_workers", "lookup_timeout_s", "cache_ttl_s")


# --- the "payload" form-body fix -------------------------------------------------------------


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


class SlackWsgi(SlackRequestHandler):
    """Bolt's WSGI adapter with the form fix and a health check."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(
            FormSafeBoltRequest(
                body=request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        )

    def _get_http_response(self, request: WsgiHttpRequest) -> WsgiHttpResponse:
        if request.method in ("GET", "HEAD") and request.path == HEALTH_PATH:
            return WsgiHttpResponse(
                status=200, headers={"content-type": ["text/plain;charset=utf-8"]}, body="ok"
            )
        return super()._get_http_response(request)


def wsgi_app(app: App) -> SlackWsgi:
    return SlackWsgi(app, path=EVENTS_PATH)


class HttpServer:
    """The WSGI app under waitress in a background thread (`port=0`: a free port)."""

    def __init__(
        self, app: App, host: str = "127.0.0.1", port: int = 0, threads: int = HTTP_THREADS
    ):
        self._map: dict[int, Any] = {}
        self._server = waitress.create_server(
            wsgi_app(app),
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            ident="callquality",
        )
        self._thread = threading.Thread(target=self._server.run, name="http-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def run(self) -> None:
        self._server.run()

    def stop(self) -> None:
        def close_all() -> None:
            for channel in list(self._map.values()):
                channel.close()  # an empty map ends the server's loop

        # Closing sockets under a polling loop from another thread races with it: have the
        # loop's own thread close them.
        if self._thread.is_alive():
            self._server.trigger.pull_trigger(close_all)
            self._thread.join(timeout=5)
        else:
            close_all()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

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
    keep = {name: getattr(settings, name) for name in SLACK_FIELDS + BEHAVIOUR_FIELDS}
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
    settings: Settings, *, port: int = 3000, sandbox: bool = False, host: str = "0.0.0.0"
) -> None:
    """Run the bot until interrupted. Raises SystemExit when Slack settings are missing."""
    check_settings(settings)
    box = None
    if sandbox:
        from providers.sandbox import Sandbox

        box = Sandbox().start()
        settings = sandbox_settings(box, settings)
    configure_logging(settings)
    try:
        try:
            app = build_app(settings)
        except BoltError:
            raise SystemExit(m.TOKEN_REJECTED) from None
        except (SlackClientError, OSError) as exc:  # URLError is an OSError
            raise SystemExit(
                m.SLACK_UNREACHABLE.format(url=settings.slack_api_url, error=type(exc).__name__)
            ) from None
        # Everything made so far (modules, fonts, the app) lives as long as the process: leave
        # it out of the collector's scans so that large lookups do not pay for rescanning it.
        gc.freeze()
        if settings.slack_app_token is not None:
            log.info("callquality: Socket Mode%s", " (sandbox providers)" if sandbox else "")
            socket_mode_handler(app, settings.slack_app_token.get_secret_value()).start()
        else:
            server = HttpServer(app, host=host, port=port)
            log.info(
                "callquality: HTTP on %s (POST %s, GET %s)%s",
                server.url,
                EVENTS_PATH,
                HEALTH_PATH,
                " with sandbox providers" if sandbox else "",
            )
            try:
                server.run()
            finally:
                server.stop()
    finally:
        if box is not None:
            box.stop()
