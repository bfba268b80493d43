"""The built-in sandbox: realistic generated calls served by loopback HTTP emulators of the
provider APIs, so `callquality demo`, `serve --sandbox` and the tests run the real clients.

Two layers:

* `CallTruth`, provider-neutral ground truth for one participant's call: a client profile,
  per-track per-direction time series (loss, jitter, RTT, bitrate, fps, resolution), encoder
  limitation reasons and events. `scenarios()` builds the standard set.
* `Emulator` subclasses (in `providers/emulators/`) render those truths in one provider's own
  JSON shapes, check auth like the real API, and record every request. `EmulatorServer` puts one
  on 127.0.0.1 with a free port; `Sandbox` starts all of them and hands out matching settings.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

AUDIO, VIDEO = "audio", "video"
SEND, RECEIVE = "send", "receive"
METRICS = ("loss_pct", "jitter_ms", "rtt_ms", "bitrate_kbps", "fps", "width", "height")

# --- ground truth ------------------------------------------------------------------------------


@dataclass
class Profile:
    name: str
    user_id: str
    browser: str | None = "Chrome"
    browser_version: str | None = "124.0.6367.91"
    os: str | None = "macOS"
    os_version: str | None = "14.4"
    device: str | None = "MacBook Pro"
    is_mobile: bool | None = False
    cpus: int | None = 8
    sdk_name: str | None = "web-core"
    sdk_version: str | None = "1.35.2"
    network_type: str | None = "wifi"
    city: str | None = "Berlin"
    region: str | None = "Berlin"
    country: str | None = "DE"
    asn: str | None = "3320"
    org: str | None = "Deutsche Telekom AG"
    ip: str | None = "203.0.113.24"  # TEST-NET-3: never a real address
    relayed: bool = False
    transport: str = "udp"


@dataclass
class CallTruth:
    """One participant's call as it really went; emulators render it in their own shapes."""

    key: str  # scenario key, also the base of every generated id
    title: str
    expect: str  # the grade a correct verdict gives: good | fair | poor | unknown
    start: datetime
    interval_s: float
    n: int  # number of samples
    profile: Profile
    # (media, direction) -> metric -> values (None where the sample lacks the field)
    tracks: dict[tuple[str, str], dict[str, list[float | None]]] = field(default_factory=dict)
    limitation: list[str | None] = field(default_factory=list)  # video send, per sample
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (offset s, kind, text)
    sparse: bool = False  # emulators should also drop optional metadata
    no_stats: bool = False

    @property
    def duration_s(self) -> float:
        return self.n * self.interval_s

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    def times(self) -> list[float]:
        t0 = self.start.timestamp()
        return [t0 + i * self.interval_s for i in range(self.n)]

    def uuid(self, label: str) -> str:
        """A stable UUID for this call and `label` (e.g. "peer", "session")."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"callquality-sandbox/{self.key}/{label}"))

    def token(self, label: str, length: int = 24, alphabet: str = "0123456789abcdef") -> str:
        digest = hashlib.sha256(f"{self.key}/{label}".encode()).digest()
        return "".join(alphabet[b % len(alphabet)] for b in digest)[:length]


def _walk(rng: random.Random, n: int, base: float, noise: float, lo: float, hi: float):
    """A bounded random walk around `base`: smooth like real stats, never constant."""
    out, v = [], base
    for _ in range(n):
        v += rng.gauss(0, noise) + (base - v) * 0.2
        out.append(min(hi, max(lo, v)))
    return out


def _healthy_tracks(rng: random.Random, n: int) -> dict[tuple[str, str], dict[str, list]]:
    tracks: dict[tuple[str, str], dict[str, list]] = {}
    for direction in (SEND, RECEIVE):
        rtt = _walk(rng, n, 55, 6, 25, 120)
        tracks[(AUDIO, direction)] = {
            "loss_pct": _walk(rng, n, 0.2, 0.15, 0, 0.9),
            "jitter_ms": _walk(rng, n, 5, 1.2, 1, 9),
            "rtt_ms": rtt,
            "bitrate_kbps": _walk(rng, n, 36, 2, 28, 44),
        }
        tracks[(VIDEO, direction)] = {
            "loss_pct": _walk(rng, n, 0.3, 0.2, 0, 0.9),
            "jitter_ms": _walk(rng, n, 7, 1.5, 2, 9.5),
            "rtt_ms": [r + rng.uniform(-3, 3) for r in rtt],
            "bitrate_kbps": _walk(rng, n, 1500, 120, 1100, 1900),
            "fps": _walk(rng, n, 29.5, 0.5, 27, 30),
            "width": [1280.0] * n,
            "height": [720.0] * n,
        }
    return tracks


def _span(n: int, a: float, b: float) -> range:
    return range(int(n * a), int(n * b))


def generate(
    key: str, duration_s: float = 300, interval_s: float = 5.0, seed: int = 7
) -> CallTruth:
    """Build one scenario's ground truth. Deterministic for (key, duration, interval, seed)."""
    rng = random.Random(f"{key}/{seed}")
    n = max(1, int(duration_s // interval_s))
    start = datetime(2026, 11, 20, 14, 0, 0, tzinfo=UTC) + timedelta(
        minutes=15 * list(SCENARIOS).index(key)
    )
    title, expect = SCENARIOS[key]
    truth = CallTruth(key, title, expect, start, interval_s, n, Profile("Ada", "user-ada"))
    truth.tracks = _healthy_tracks(rng, n)
    truth.limitation = ["none"] * n
    truth.events = [(0.0, "join", "Joined the session")]

    if key == "healthy":
        # One lone spike: a correct verdict does not turn the call Poor for it.
        i = n // 2
        truth.tracks[(AUDIO, RECEIVE)]["loss_pct"][i] = 14.0
        truth.tracks[(AUDIO, RECEIVE)]["jitter_ms"][i] = 48.0
    elif key == "receive-loss":
        truth.profile = Profile(
            "Grace",
            "user-grace",
            network_type="wifi",
            city="Lisbon",
            region="Lisbon",
            country="PT",
            org="MEO",
            asn="3243",
        )
        for media in (AUDIO, VIDEO):
            track = truth.tracks[(media, RECEIVE)]
            for i in _span(n, 0.3, 0.85):
                track["loss_pct"][i] = rng.uniform(8, 15)
                track["jitter_ms"][i] = rng.uniform(18, 34)
            if media == VIDEO:
                for i in _span(n, 0.3, 0.85):
                    track["bitrate_kbps"][i] = rng.uniform(250, 600)
                    track["fps"][i] = rng.uniform(12, 20)
                    track["height"][i], track["width"][i] = 360.0, 640.0
        truth.events.append(
            (truth.duration_s * 0.55, "reconnect", "Media connection restarted (ICE restart)")
        )
    elif key == "cpu-limited":
        truth.profile = Profile(
            "Linus",
            "user-linus",
            browser="Firefox",
            browser_version="125.0",
            os="Windows",
            os_version="10",
            device="Desktop",
            cpus=2,
            network_type="ethernet",
            city="Helsinki",
            region="Uusimaa",
            country="FI",
            org="Elisa Oyj",
            asn="719",
        )
        video = truth.tracks[(VIDEO, SEND)]
        for i in _span(n, 0.2, 1.0):
            truth.limitation[i] = "cpu"
            video["fps"][i] = rng.uniform(6, 11)
            video["width"][i], video["height"][i] = 480.0, 270.0
            video["bitrate_kbps"][i] = rng.uniform(300, 450)
        truth.events.append(
            (truth.duration_s * 0.18, "device_change", 'Camera changed to "Logitech BRIO"')
        )
    elif key == "turn-tcp":
        truth.profile = Profile(
            "Margaret",
            "user-margaret",
            os="iOS",
            os_version="17.4",
            browser="Safari",
            browser_version="17.4",
            device="iPhone",
            is_mobile=True,
            cpus=6,
            network_type="cellular",
            city="Sao Paulo",
            region="SP",
            country="BR",
            org="Claro S.A.",
            asn="28573",
            relayed=True,
            transport="tcp",
        )
        for (_media, _direction), track in truth.tracks.items():
            track["rtt_ms"] = _walk(rng, n, 520, 40, 420, 700)
            track["jitter_ms"] = _walk(rng, n, 16, 3, 9, 26)
            track["loss_pct"] = _walk(rng, n, 1.2, 0.4, 0.2, 2.5)
    elif key == "sparse":
        truth.profile = Profile(
            "Katherine",
            "user-katherine",
            browser=None,
            browser_version=None,
            os="Android",
            os_version=None,
            device=None,
            is_mobile=True,
            cpus=None,
            network_type=None,
            city=None,
            region=None,
            country="US",
            asn=None,
            org=None,
        )
        truth.sparse = True
        for track in truth.tracks.values():
            for metric, values in track.items():
                for i in range(n):
                    if rng.random() < (0.9 if metric in ("jitter_ms", "rtt_ms") else 0.35):
                        values[i] = None
    elif key == "no-stats":
        truth.profile = Profile("Alan", "user-alan")
        truth.no_stats = True
        truth.tracks = {}
        truth.limitation = []
    truth.events.append((truth.duration_s, "leave", "Left the session"))
    return truth


# key -> (title, expected grade)
SCENARIOS: dict[str, tuple[str, str]] = {
    "healthy": ("Healthy call (one lone loss spike)", "good"),
    "receive-loss": ("Sustained 8-15 % packet loss on receive", "poor"),
    "cpu-limited": ("CPU-limited sender: low frame rate and resolution", "poor"),
    "turn-tcp": ("Relayed over TURN/TCP on cellular with high RTT", "poor"),
    "sparse": ("Sparse data: many fields missing", "good"),
    "no-stats": ("Participant with no stats at all", "unknown"),
}


def scenarios(duration_s: float = 300, interval_s: float = 5.0) -> list[CallTruth]:
    return [generate(key, duration_s, interval_s) for key in SCENARIOS]


def mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None and not math.isnan(v)]
    return sum(got) / len(got) if got else None


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

    # shared -----------------------------------------------------------------------------------
    def handle(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            fault = self.faults.pop(0) if self.faults else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault is not None:
            return fault
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator


class EmulatorServer:
    """Serve one emulator on 127.0.0.1 (a free port). Use as a context manager."""

    def __init__(self, emulator: Emulator, port: int = 0):
        self.emulator = emulator
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = emulator
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for server in self.servers.values():
            out.update(server.emulator.settings_env(server.url))
        return out

    def settings(self, **overrides: Any):
        from bot.config import Settings

        values = {k.lower(): v for k, v in self.env().items()}
        return Settings(_env_file=None, **{**values, **overrides})

    def lookups(self) -> list[tuple[list[str], CallTruth]]:
        return [pair for s in self.servers.values() for pair in s.emulator.demo_lookups()]

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
