"""Read one provider response within a size cap and a deadline, while it streams.

Why not `httpx.Response.read()`: it holds whatever the server sends, and its decoder inflates a
gzip chunk whole (a 1 MB bomb becomes 1 GB in memory). Here the bytes on the wire and the bytes
after decompression are each counted against `max_bytes` as they arrive, decompression never
produces more than the room left, and the deadline is checked between reads, so a server that
drips one byte at a time cannot keep a lookup past it. Each read is also bounded by the time
left (the per-read timeout alone would let a drip run for ever).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import httpx

ACCEPT_ENCODING = "gzip, deflate"  # what `Inflater` decodes; nothing else is asked for


class TooLarge(Exception):
    pass


class Late(Exception):
    pass


class UnknownEncoding(Exception):
    pass


@dataclass
class Body:
    status: int
    headers: httpx.Headers
    content: bytes


class Inflater:
    """Content-Encoding gzip or deflate (zlib-wrapped), or none; output capped per call."""

    def __init__(self, encoding: str):
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._z = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise UnknownEncoding(encoding)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of `data`; raises TooLarge past `room`."""
        if self._z is None:
            if len(data) > room:
                raise TooLarge()
            return data
        try:
            out = self._z.decompress(data, room + 1)
        except zlib.error:
            raise UnknownEncoding("corrupt") from None
        if len(out) > room or self._z.unconsumed_tail:
            raise TooLarge()
        return out


def _bounded(timeout: httpx.Timeout, left: float) -> httpx.Timeout:
    def cap(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def fetch(
    client: httpx.Client,
    path: str,
    *,
    params: object = None,
    headers: dict[str, str] | None = None,
    deadline: float,
    max_bytes: int,
) -> Body:
    """GET `path`; raises TooLarge, Late, UnknownEncoding or an httpx error."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise Late()
    with client.stream(
        "GET",
        path,
        params=params,  # type: ignore[arg-type]
        headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
        timeout=_bounded(client.timeout, left),
    ) as resp:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge()
        inflater = Inflater(resp.headers.get("content-encoding", ""))
        out = bytearray()
        wire = 0
        for chunk in resp.iter_raw():
            wire += len(chunk)
            if wire > max_bytes:
                raise TooLarge()
            out += inflater.feed(chunk, max_bytes - len(out))
            if time.monotonic() > deadline:
                raise Late()
        return Body(resp.status_code, resp.headers, bytes(out))
