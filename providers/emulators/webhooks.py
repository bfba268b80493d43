"""Signed webhook deliveries for the sandbox calls, as each provider sends them.

`Signer` holds an RSA key pair made at start (its public half is what the Cloudflare and
VideoSDK emulators serve at their key endpoints) and signs like the providers do: base64
RSA-SHA256 PKCS#1 v1.5 over the body (`rtk-signature`, `videosdk-signature`), hex HMAC-SHA256
with the API secret over the uncompressed body (`X-Signature`, gzip on request).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

Delivery = tuple[str, dict[str, str], bytes]  # provider word for the URL, headers, body


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Signer:
    def __init__(self) -> None:
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:  # made on first use: most sandbox runs never send a webhook
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def rsa(self, body: bytes) -> str:
        signature = self.private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def cloudflare(signer: Signer, event: dict[str, Any]) -> Delivery:
    body = dumps(event)
    headers = {
        "content-type": "application/json",
        "rtk-signature": signer.rsa(body),
        "rtk-uuid": str(uuid.uuid4()),
    }
    return "cloudflare", headers, body


def videosdk(signer: Signer, event: dict[str, Any]) -> Delivery:
    body = dumps(event)
    return (
        "videosdk",
        {"content-type": "application/json", "videosdk-signature": signer.rsa(body)},
        body,
    )


def stream(secret: str, event: dict[str, Any], *, compress: bool = False) -> Delivery:
    body = dumps(event)
    headers = {
        "content-type": "application/json",
        "x-signature": hmac_hex(secret, body),
        "x-webhook-id": str(uuid.uuid4()),
        "x-webhook-attempt": "1",
    }
    if compress:
        headers["content-encoding"] = "gzip"
        body = gzip.compress(body)
    return "stream", headers, body


def cloudflare_event(session_id: str, name: str = "meeting.ended") -> dict[str, Any]:
    at = now_iso()
    event: dict[str, Any] = {
        "event": name,
        "meeting": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"callquality-sandbox/meeting/{session_id}")),
            "sessionId": session_id,
            "title": "Sandbox meeting",
            "status": "LIVE" if name != "meeting.ended" else "ENDED",
            "updatedAt": at,
        },
    }
    if name == "meeting.ended":
        event["meeting"]["endedAt"] = at
        event["reason"] = "ALL_PARTICIPANTS_LEFT"
    else:
        event["participant"] = {"peerId": str(uuid.uuid4()), "leftAt": at}
    return event


def videosdk_event(session_id: str, name: str = "session-ended") -> dict[str, Any]:
    data: dict[str, Any] = {"sessionId": session_id, "meetingId": "sand-boxm-eets"}
    if name == "session-ended":
        data["end"] = now_iso()
    return {"webhookType": name, "data": data}


def stream_event(call_cid: str, session_id: str) -> dict[str, Any]:
    return {
        "type": "call.stats_report_ready",
        "created_at": now_iso(),
        "call_cid": call_cid,
        "session_id": session_id,
    }
