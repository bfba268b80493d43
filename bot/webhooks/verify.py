"""Is this delivery from the provider? Checked against the raw body, before anything is parsed.

- Cloudflare RealtimeKit: `rtk-signature`, base64 RSA-SHA256 (PKCS#1 v1.5) over the raw body,
  with the public key RealtimeKit publishes (`KeySource`).
- VideoSDK: `videosdk-signature`, the same scheme with the key from `/v2/public/rsa-public-key`;
  the raw body first, then its compact re-serialised JSON, which older senders signed.
- Stream: `X-Signature`, hex HMAC-SHA256 of the body with the API secret; a gzip body is
  decompressed (bounded) first, since Stream signs the uncompressed payload.

`verify` returns the payload bytes to parse, or raises `Refused` (answered 401) or
`KeyUnavailable` (503: the provider retries later). Nothing here logs a signature or secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger("callquality.webhooks")

MAX_BODY = 1 << 20  # bytes, compressed or not: provider events are a few kB
KEY_TTL_S = 3600.0  # a cached key is refetched after this, rotation or not
REFETCH_MIN_S = 60.0  # a failed check refetches the key at most this often
GZIP_MAGIC = b"\x1f\x8b"


class Refused(Exception):
    """Unsigned, badly signed, or otherwise not the provider's delivery (answered 401)."""


class KeyUnavailable(Exception):
    """The provider's public key could not be fetched or read (answered 503)."""


def _pem_from(body: bytes) -> bytes:
    """The PEM in a key endpoint's answer: JSON (`data.publicKey`, `publicKey`, `key` ...) or
    the PEM text itself."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    try:
        doc = json.loads(text)
    except ValueError:
        raise KeyUnavailable("the key endpoint answered neither JSON nor PEM") from None
    for holder in (doc.get("data") if isinstance(doc, dict) else None, doc):
        if isinstance(holder, dict):
            for name in ("publicKey", "public_key", "key", "pem"):
                value = holder.get(name)
                if isinstance(value, str) and "BEGIN" in value:
                    return value.replace("\\n", "\n").encode()
    raise KeyUnavailable("the key endpoint's answer carries no PEM public key")


class KeySource:
    """One provider's webhook public key: fetched on first use, cached for `ttl_s`, and
    refetched when a signature fails to verify (the provider may have rotated it), at most
    every `refetch_min_s` so that forged deliveries cannot hammer the key endpoint."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        ttl_s: float = KEY_TTL_S,
        refetch_min_s: float = REFETCH_MIN_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self._timeout = timeout_s
        self._ttl = ttl_s
        self._refetch_min = refetch_min_s
        self._transport = transport
        self._clock = clock
        self._key: rsa.RSAPublicKey | None = None
        self._fetched = float("-inf")
        self._lock = threading.Lock()

    def _fetch(self) -> rsa.RSAPublicKey:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                resp = client.get(self.url)
        except httpx.HTTPError as exc:
            raise KeyUnavailable(
                f"could not reach the key endpoint ({type(exc).__name__})"
            ) from None
        if resp.status_code != 200:
            raise KeyUnavailable(f"the key endpoint answered HTTP {resp.status_code}")
        try:
            key = serialization.load_pem_public_key(_pem_from(resp.content))
        except ValueError:
            raise KeyUnavailable("the key endpoint's PEM could not be read") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyUnavailable("the key endpoint's key is not an RSA key")
        return key

    def get(self, *, stale: bool = False) -> rsa.RSAPublicKey | None:
        """The key; with `stale=True` (a check just failed) a fresh one when allowed, else
        None (nothing new to try)."""
        with self._lock:
            now = self._clock()
            age = now - self._fetched
            if self._key is not None and not stale and age < self._ttl:
                return self._key
            if self._key is not None and stale and age < self._refetch_min:
                return None
            self._key = self._fetch()
            self._fetched = now
            return self._key


def _rsa_ok(key: rsa.RSAPublicKey, signature: bytes, candidates: list[bytes]) -> bool:
    for data in candidates:
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            continue
    return False


def compact_json(body: bytes) -> bytes | None:
    """The body re-serialised the way JavaScript's JSON.stringify writes it."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def verify_rsa(
    keys: KeySource, header: str | None, body: bytes, *, compact_fallback: bool = False
) -> bytes:
    if not header:
        raise Refused("unsigned delivery")
    try:
        signature = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Refused("the signature is not base64") from None
    candidates = [body]
    if compact_fallback:
        compact = compact_json(body)
        if compact is not None and compact != body:
            candidates.append(compact)
    key = keys.get()
    if key is not None and _rsa_ok(key, signature, candidates):
        return body
    fresh = keys.get(stale=True)
    if fresh is not None and _rsa_ok(fresh, signature, candidates):
        return body
    raise Refused("bad signature")


def gunzip(body: bytes, limit: int = MAX_BODY) -> bytes:
    """Decompress a gzip body, refusing one that inflates past `limit` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Refused("the gzip body is corrupt") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise Refused(f"the body inflates past {limit} bytes")
    return out


def verify_hmac(secret: str | None, header: str | None, body: bytes, encoding: str) -> bytes:
    if not secret:
        raise Refused("STREAM_API_SECRET is not set, so Stream deliveries cannot be verified")
    if not header:
        raise Refused("unsigned delivery")
    if "gzip" in encoding.lower() or body.startswith(GZIP_MAGIC):
        body = gunzip(body)
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.strip().lower()):
        raise Refused("bad signature")
    return body


class Verifier:
    """The three providers' checks, by provider word (`cf`, `videosdk`, `stream`)."""

    def __init__(
        self,
        *,
        cloudflare_keys: KeySource,
        videosdk_keys: KeySource,
        stream_secret: Callable[[], str | None],
    ):
        self.cloudflare_keys = cloudflare_keys
        self.videosdk_keys = videosdk_keys
        self._stream_secret = stream_secret

    def verify(self, provider: str, headers: Mapping[str, str], body: bytes) -> bytes:
        if provider == "cf":
            return verify_rsa(self.cloudflare_keys, headers.get("rtk-signature"), body)
        if provider == "videosdk":
            return verify_rsa(
                self.videosdk_keys,
                headers.get("videosdk-signature"),
                body,
                compact_fallback=True,
            )
        if provider == "stream":
            return verify_hmac(
                self._stream_secret(),
                headers.get("x-signature"),
                body,
                headers.get("content-encoding", ""),
            )
        raise Refused(f"unknown provider {provider!r}")


__all__ = [
    "GZIP_MAGIC",
    "MAX_BODY",
    "KeySource",
    "KeyUnavailable",
    "Refused",
    "Verifier",
    "compact_json",
    "gunzip",
    "verify_hmac",
    "verify_rsa",
]
