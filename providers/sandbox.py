"""The built-in sandbox: loopback HTTP emulators of the provider APIs serving the generated
calls of `providers.scenarios`, so `callquality demo`, `serve --sandbox` and the tests run the
real clients.

`Emulator` subclasses (in `providers/emulators/`) render the calls in one provider's own JSON
shapes, check auth like the real API, and record every request. `EmulatorServer` puts one on
127.0.0.1 with a free port; `Sandbox` starts all of them and hands out matching settings.
"""

from __future__ import annotations

import json
import os
import selectors
import sys
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from providers.emulators.webhooks import Delivery, Signer
from providers.scenarios import CallTruth, scenarios

# --- emulators ---------------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the emulator received it."""

    method: str
    path: str  # raw, still percent-encoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Reply = tuple[int, dict[str, str], Any]  # status, headers, body (dict/list -> JSON; str/bytes raw)


@dataclass
class Drip:
    """A body sent one byte every `every_s` seconds (a slow or hostile provider)."""

    data: bytes
    every_s: float


class Emulator:
    """Base class of a provider emulator. Subclasses set `provider`, `base_path`,
    `credentials` and implement `route`; `handle` adds recording, canned faults and delay."""

    provider: ClassVar[str]  # registry name of the provider it emulates ("cf", "videosdk", ...)
    base_url_env: ClassVar[str]  # the setting that points the client at it, e.g. "STREAM_BASE_URL"
    base_path: ClassVar[str] = ""  # path prefix of the API root, e.g. "/client/v4"

    def __init__(self, calls: list[CallTruth] | None = None):
        self.calls = calls if calls is not None else scenarios()
        self.requests: list[Recorded] = []
        self.faults: list[Reply] = []  # served first, one per request (tests)
        self.delay_s = 0.0  # added before every answer (benchmarks: slow provider)
        self.signer = Signer()  # signs this provider's webhooks; its public key is served
        self.rewrites: dict[str, str] = {}  # path text -> what to answer instead (tests)
        self._lock = threading.Lock()

    # subclasses -------------------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        """Settings (env names) the real client needs to talk to this emulator."""
        raise NotImplementedError

    def route(self, req: Recorded) -> Reply:
        raise NotImplementedError

    def demo_lookups(self) -> list[tuple[list[str], CallTruth]]:
        """Command words (provider word first) that look each call up, with its truth."""
        raise NotImplementedError

    def webhook(self, **options: Any) -> Delivery:
        """A signed delivery of this provider's "call ended" event for a sandbox call."""
        raise NotImplementedError

    # shared -----------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            fault = self.faults.pop(0) if self.faults else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault is not None:
            return fault
        for old, new in self.rewrites.items():  # answer about someone else (tests)
            req = replace(req, path=req.path.replace(old, new))
        return self.route(req)

    def settings_env(self, base_url: str) -> dict[str, str]:
        return {**self.credentials(), self.base_url_env: base_url}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        req = Recorded(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        try:
            status, headers, body = self.server.emulator.handle(req)
        except Exception as exc:  # an emulator bug must show up as a 500, not hang the client
            status, headers, body = 500, {}, {"message": f"emulator error: {exc!r}"}
        if isinstance(body, Drip):
            return self._drip(status, headers, body)
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **headers}
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drip(self, status: int, headers: dict[str, str], drip: Drip) -> None:
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(drip.data)))
        self.end_headers()
        try:
            for i in range(len(drip.data)):
                self.wfile.write(drip.data[i : i + 1])
                self.wfile.flush()
                time.sleep(drip.every_s)
        except OSError:  # the client gave up
            self.close_connection = True


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server whose `stop()` returns at once.

    `serve_forever` only notices `shutdown()` when its select() times out (every 0.5 s by
    default), so each stop used to cost up to half a second. Here the loop also waits on a
    pipe, and `stop()` writes to it: no polling, and the loop ends as soon as it is told.
    """

    daemon_threads = True

    def server_activate(self) -> None:
        super().server_activate()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="loopback-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj == self._wake_r for key, _ in ready):
                    return
                self._handle_request_noblock()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join()
        self.server_close()
        os.close(self._wake_r)
        os.close(self._wake_w)


class _Server(LoopbackServer):
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (a capped body, a deadline) resets the connection:
        # expected, not worth a traceback on stderr.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EmulatorServer:
    """Serve one emulator on 127.0.0.1 (a free port). Use as a context manager."""

    def __init__(self, emulator: Emulator, port: int = 0):
        self.emulator = emulator
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = emulator

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The API root to configure as the provider's base URL."""
        return self.root + self.emulator.base_path

    @property
    def requests(self) -> list[Recorded]:
        return self.emulator.requests

    def start(self) -> EmulatorServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def emulator_classes() -> dict[str, type[Emulator]]:
    """Registered emulators by provider name (imported lazily, like the provider registry)."""
    out: dict[str, type[Emulator]] = {}
    for mod in ("cloudflare", "videosdk", "stream"):
        try:
            module = __import__(f"providers.emulators.{mod}", fromlist=["EMULATOR"])
        except ModuleNotFoundError as exc:  # pragma: no cover - while a provider is absent
            if exc.name != f"providers.emulators.{mod}":
                raise
            continue
        out[module.EMULATOR.provider] = module.EMULATOR
    return out


class Sandbox:
    """Every emulator on its own loopback port, plus the settings that point the real
    clients at them. `with Sandbox() as sb: settings = sb.settings()`."""

    def __init__(self, duration_s: float = 300, interval_s: float = 5.0):
        calls = scenarios(duration_s, interval_s)
        self.servers = {
            name: EmulatorServer(cls(calls)) for name, cls in emulator_classes().items()
        }
        for server in self.servers.values():
            # The sandbox's calls are one meeting: each belongs to the shared session, so its
            # listing ranks them all and every participant's answer names that session.
            if hasattr(server.emulator, "shared_home"):
                server.emulator.shared_home = True

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for server in self.servers.values():
            out.update(server.emulator.settings_env(server.url))
        return out

    def settings(self, settings_class: type | None = None, **overrides: Any):
        """Settings that point every provider at its emulator, as `settings_class` (default:
        all providers' own settings; the bot passes its `Settings`)."""
        from providers.settings import provider_settings_class

        cls = settings_class or provider_settings_class()
        values = {k.lower(): v for k, v in self.env().items()}
        return cls(_env_file=None, **{**values, **overrides})

    def lookups(self) -> list[tuple[list[str], CallTruth]]:
        return [pair for s in self.servers.values() for pair in s.emulator.demo_lookups()]

    def webhook(self, provider: str = "cf", **options: Any) -> Delivery:
        """A signed delivery announcing that one of the sandbox's calls ended: the shared
        session for Cloudflare and VideoSDK, the CPU-limited call for Stream."""
        return self.servers[provider].emulator.webhook(**options)

    def start(self) -> Sandbox:
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
