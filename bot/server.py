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
from bot.webhooks.verify import MAX_BODY as MAX_WEBHOOK_BODY

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.webhooks import Webhooks

log = logging.getLogger("callquality.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
WEBHOOKS_PATH = "/webhooks/"  # + cloudflare | videosdk | stream
HTTP_THREADS = 32  # a request holds a thread only until its ack
SLACK_FIELDS = ("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url")
BEHAVIOUR_FIELDS = ("http_timeout_s", "lookup_workers", "lookup_timeout_s", "cache_ttl_s")
WEBHOOK_FIELDS = (
    "alert_channel",
    "alert_min_grade",
    "webhook_delay_s",
    "webhook_retries",
    "webhook_retry_s",
    "webhook_max_age_s",
    "webhook_queue_size",
)


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
    """Bolt's WSGI adapter with the form fix, a health check and the provider webhooks."""

    webhooks: Webhooks | None = None

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
        if request.path.startswith(WEBHOOKS_PATH):
            return webhook_response(self.webhooks, request)
        return super()._get_http_response(request)


def webhook_response(webhooks: Webhooks | None, request: WsgiHttpRequest) -> WsgiHttpResponse:
    """`POST /webhooks/<provider>` under WSGI: the raw body (bounded) to `handle_webhook`."""

    def answer(status: int, text: str) -> WsgiHttpResponse:
        headers = {"content-type": ["text/plain;charset=utf-8"]}
        return WsgiHttpResponse(status=status, headers=headers, body=text)

    if webhooks is None:
        return answer(404, m.WEBHOOKS_OFF)
    if request.method != "POST":
        return answer(405, "POST only")
    try:
        length = int(request.environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return answer(400, "bad Content-Length")
    if length > MAX_WEBHOOK_BODY:
        return answer(413, f"body larger than {MAX_WEBHOOK_BODY} bytes")
    body = request.environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {
        k: v if isinstance(v, str) else ",".join(v) for k, v in request.get_headers().items()
    }
    provider = request.path[len(WEBHOOKS_PATH) :].strip("/")
    status, text = webhooks.handle_webhook(provider, headers, body)
    return answer(status, text)


def wsgi_app(app: App, webhooks: Webhooks | None = None) -> SlackWsgi:
    handler = SlackWsgi(app, path=EVENTS_PATH)
    handler.webhooks = webhooks
    return handler


class HttpServer:
    """The WSGI app under waitress in a background thread (`port=0`: a free port)."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = HTTP_THREADS,
        webhooks: Webhooks | None = None,
    ):
        self._map: dict[int, Any] = {}
        self._server = waitress.create_server(
            wsgi_app(app, webhooks),
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
        webhooks = hooks.build(settings, runtime, app.client)
        # Everything made so far (modules, fonts, the app) lives as long as the process: leave
        # it out of the collector's scans so that large lookups do not pay for rescanning it.
        gc.freeze()
        socket_mode = settings.slack_app_token is not None
        server = None
        if not socket_mode or port is not None:
            server = HttpServer(
                app, host=host, port=3000 if port is None else port, webhooks=webhooks
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
        finally:
            if server is not None:
                server.stop()
            if webhooks is not None:
                webhooks.close()
    finally:
        if box is not None:
            box.stop()
