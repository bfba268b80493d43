"""What a request into `POST /slack/events` must pass before Bolt parses it: the signature
(over the raw bytes, so an unsigned body is never parsed or logged), UTF-8, and the shapes
Slack sends. Anything else is `Refused` with a 4xx and a reason that quotes nothing the
sender wrote, fit for a one-line log entry.

Bolt parses the body in `BoltRequest.__init__` and raises on JSON that is not an object, on
`payload=` that is not JSON and on deep nesting (RecursionError): every such 500 is decided
here first, on the same rules Bolt uses to pick JSON or form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

MAX_SKEW_S = 300  # Slack's own replay window
MAX_DEPTH = 32  # Slack's payloads nest fewer than 10 levels


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None) -> None:
    """Slack's v0 signature over the raw body; raises Refused(401)."""
    ts = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        raise Refused(401, "missing or non-numeric X-Slack-Request-Timestamp")
    if abs((time.time() if now is None else now) - int(ts)) > MAX_SKEW_S:
        raise Refused(401, "stale X-Slack-Request-Timestamp")
    base = b"v0:" + ts.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Refused(401, "invalid signature")


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate probe for slash-command URLs (`ssl_check=1`), which Bolt answers
    with an empty 200 before it checks signatures, running no listener."""
    if b"ssl_check=1" not in body:
        return False
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return form.get("ssl_check") == "1"


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise Refused(400, f"{what} is nested too deeply") from None
    except ValueError:
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is JSON but not an object")
    if _depth(value) > MAX_DEPTH:
        raise Refused(400, f"{what} is nested too deeply")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _check_payload(payload: dict[str, Any], what: str) -> None:
    if "event" in payload and not isinstance(payload["event"], dict):
        raise Refused(400, f"{what} has an event that is not an object")
    if payload.get("type") == "event_callback" and not isinstance(payload.get("event"), dict):
        raise Refused(400, f"{what} is an event callback without an event")


def check(body: bytes, headers: Mapping[str, str]) -> str:
    """The body as text, once it has the shape of something Slack sends; raises Refused.
    Call after `verify`. `headers` have lower-case names."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if not text:
        return text
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or text.startswith("{"):
        _check_payload(_json_object(text, "JSON body"), "JSON body")
        return text
    if "payload" not in text:
        return text
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        if "command" in form:
            raise Refused(400, "slash command with a payload field")
        _check_payload(_json_object(form["payload"], "payload field"), "payload field")
    return text
