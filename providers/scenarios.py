"""Ground truth for the sandbox: realistic generated calls, provider-neutral.

`CallTruth` is one participant's call as it really went: a client profile, per-track
per-direction time series (loss, jitter, RTT, bitrate, fps, resolution), encoder limitation
reasons and events. `scenarios()` builds the standard set (healthy, sustained receive loss,
CPU-limited sender, TURN/TCP with high RTT, sparse data, no stats); the emulators in
`providers/emulators/` render them in each provider's own JSON shapes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

AUDIO, VIDEO = "audio", "video"
SEND, RECEIVE = "send", "receive"


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
    remote: str | None = None  # key of the call whose participant this one received from
    # Provider warnings on a published track: (offset s, media, code, text)
    warnings: list[tuple[float, str, str, str]] = field(default_factory=list)
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
        return uuid_for(self.key, label)

    def token(self, label: str, length: int = 24, alphabet: str = "0123456789abcdef") -> str:
        digest = hashlib.sha256(f"{self.key}/{label}".encode()).digest()
        return "".join(alphabet[b % len(alphabet)] for b in digest)[:length]


def uuid_for(key: str, label: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"callquality-sandbox/{key}/{label}"))


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
    if key != "healthy":
        truth.remote = "healthy"  # everyone else hears Ada, whose uplink is clean
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
