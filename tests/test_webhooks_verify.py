"""Webhook signatures with real keys: RSA keys made here and served from a loopback key
endpoint (rotation, outage, refetch limit), compact-JSON fallback, HMAC with gzip."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.webhooks.verify import (
    MAX_BODY,
    KeySource,
    KeyUnavailable,
    Refused,
    Verifier,
    verify_hmac,
    verify_rsa,
)

BODY = json.dumps({"event": "meeting.ended", "meeting": {"sessionId": "s"}}, indent=2).encode()
SECRET = "stream-test-secret-0123456789"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


class KeyServer:
    """Serves `{"data": {"publicKey": <pem>}}` (or `status`), counting requests."""

    def __init__(self, key: rsa.RSAPrivateKey):
        self.key, self.status, self.requests = key, 200, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                outer.requests += 1
                body = json.dumps({"success": True, "data": {"publicKey": pem(outer.key)}})
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/webhooks.json"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def keys(key) -> Iterator[KeyServer]:
    server = KeyServer(key)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_raw_body_signature_verifies_and_the_key_is_cached(key, keys):
    source = KeySource(keys.url, refetch_min_s=0)
    for _ in range(3):
        assert verify_rsa(source, sign(key, BODY), BODY) == BODY
    assert keys.requests == 1


@pytest.mark.parametrize(
    "header", [None, "", "not base64 !!", base64.b64encode(b"x" * 256).decode()]
)
def test_unsigned_garbled_and_forged_are_refused(key, keys, header):
    with pytest.raises(Refused):
        verify_rsa(KeySource(keys.url), header, BODY)


def test_a_signature_of_another_body_or_key_is_refused(key, keys):
    source = KeySource(keys.url)
    with pytest.raises(Refused, match="bad signature"):
        verify_rsa(source, sign(key, BODY + b" "), BODY)
    with pytest.raises(Refused, match="bad signature"):
        verify_rsa(source, sign(new_key(), BODY), BODY)


def test_rotated_key_is_refetched_once_and_forgeries_cannot_hammer_the_endpoint(key, keys):
    source = KeySource(keys.url, refetch_min_s=3600)
    assert verify_rsa(source, sign(key, BODY), BODY)
    forger = new_key()
    for _ in range(5):
        with pytest.raises(Refused):
            verify_rsa(source, sign(forger, BODY), BODY)
    assert keys.requests == 1  # the refetch limit holds: the key was fetched just now
    fresh = KeySource(keys.url, refetch_min_s=0)
    assert verify_rsa(fresh, sign(key, BODY), BODY)
    rotated = keys.key = new_key()
    assert verify_rsa(fresh, sign(rotated, BODY), BODY)  # unknown to the cache: refetched
    assert keys.requests == 3


def test_key_endpoint_down_is_unavailable_not_refused(key, keys):
    keys.status = 500
    with pytest.raises(KeyUnavailable, match="HTTP 500"):
        verify_rsa(KeySource(keys.url), sign(key, BODY), BODY)


def test_videosdk_falls_back_to_compact_json_cloudflare_does_not(key, keys):
    compact = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    signature = sign(key, compact)  # an older sender signed JSON.stringify(body)
    verifier = Verifier(
        cloudflare_keys=KeySource(keys.url),
        videosdk_keys=KeySource(keys.url),
        stream_secret=lambda: SECRET,
    )
    assert verifier.verify("videosdk", {"videosdk-signature": signature}, BODY) == BODY
    with pytest.raises(Refused):
        verifier.verify("cf", {"rtk-signature": signature}, BODY)


def hexmac(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_stream_hmac_plain_and_gzip():
    assert verify_hmac(SECRET, hexmac(BODY), BODY, "") == BODY
    packed = gzip.compress(BODY)
    assert verify_hmac(SECRET, hexmac(BODY), packed, "gzip") == BODY
    assert verify_hmac(SECRET, hexmac(BODY).upper(), packed, "") == BODY  # by its magic bytes
    with pytest.raises(Refused, match="bad signature"):
        verify_hmac(SECRET, hexmac(packed), packed, "gzip")  # signed compressed: wrong
    with pytest.raises(Refused, match="bad signature"):
        verify_hmac(SECRET, hexmac(BODY, "other-secret"), BODY, "")
    with pytest.raises(Refused, match="STREAM_API_SECRET"):
        verify_hmac(None, hexmac(BODY), BODY, "")
    with pytest.raises(Refused, match="unsigned"):
        verify_hmac(SECRET, None, BODY, "")


def test_gzip_bomb_and_corrupt_gzip_are_refused():
    bomb = gzip.compress(b"{" + b" " * (MAX_BODY * 4))
    assert len(bomb) < MAX_BODY
    with pytest.raises(Refused, match="inflates past"):
        verify_hmac(SECRET, "00", bomb, "gzip")
    with pytest.raises(Refused, match="corrupt"):
        verify_hmac(SECRET, "00", b"\x1f\x8bnot really gzip", "gzip")
