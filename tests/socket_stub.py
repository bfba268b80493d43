"""A loopback stand-in for Slack's Socket Mode endpoint: a minimal RFC 6455 server.

Enough for slack_sdk's builtin SocketModeClient: the opening handshake, unmasked frames from
the server, masked frames from the client (text, ping, close, continuations), a pong for every
ping. Each new connection gets `hello` first; tests then `send` envelopes and read the client's
JSON messages (its acks) with `ack`. Violations of the protocol by the client (an unmasked
frame, a bad handshake) are kept in `errors` and end the connection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
APP_ID = "ACQAPP001"


@dataclass
class Received:
    message: dict[str, Any]
    at: float  # time.monotonic()


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame (a server never masks)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class _Closed(Exception):
    pass


class _Conn:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.send_lock = threading.Lock()

    def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Closed
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_until(self, marker: bytes, limit: int = 16384) -> bytes:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise _Closed
            chunk = self.sock.recv(4096)
            if not chunk:
                raise _Closed
            self.buffer += chunk
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def send(self, data: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(data)

    def read_frame(self) -> tuple[int, int, bytes]:
        """(fin, opcode, unmasked payload). Raises ValueError on an unmasked client frame."""
        b1, b2 = self.read(2)
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self.read(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self.read(8))
        if not b2 & 0x80:
            raise ValueError("unmasked frame from the client")
        mask = self.read(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.read(n)))
        return b1 & 0x80, b1 & 0x0F, data


class SocketModeStub:
    def __init__(self, path: str = "/link") -> None:
        self.path = path
        self.handshakes: list[str] = []  # raw opening handshakes, as received
        self.received: list[Received] = []  # JSON text messages from the client
        self.sent: dict[str, float] = {}  # envelope_id -> time.monotonic() when sent
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._conns: list[_Conn] = []  # connections past the handshake
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}{self.path}"

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> SocketModeStub:
        self._spawn(self._accept_loop, "socket-stub-accept")
        return self

    def close(self) -> None:
        """Stop accepting, end every connection and wait for the stub's threads."""
        self._stopping.set()
        self._threads[0].join(timeout=5)  # the accept loop: no new connections after this
        for sock in self._socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> SocketModeStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- for tests -------------------------------------------------------------------------
    def wait_connected(self, timeout: float = 5.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._conns, timeout):
                raise AssertionError(f"no Socket Mode connection within {timeout} s")

    def send(self, message: dict[str, Any]) -> None:
        """Send a JSON text frame on the newest connection."""
        with self._cond:
            conn = self._conns[-1]
        if "envelope_id" in message:
            self.sent[message["envelope_id"]] = time.monotonic()
        conn.send(frame(OP_TEXT, json.dumps(message).encode()))

    def ack(self, envelope_id: str, timeout: float = 5.0) -> Received:
        """The client's message for `envelope_id` (waits for it)."""

        def find() -> Received | None:
            return next(
                (r for r in self.received if r.message.get("envelope_id") == envelope_id), None
            )

        with self._cond:
            got = self._cond.wait_for(find, timeout)
        if got is None:
            raise AssertionError(f"envelope {envelope_id} not acked within {timeout} s")
        return got

    # --- server ----------------------------------------------------------------------------
    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self._socks.append(sock)
            self._spawn(self._serve, "socket-stub-conn", _Conn(sock))

    def _serve(self, conn: _Conn) -> None:
        try:
            if not self._handshake(conn):
                return
            with self._cond:
                self._conns.append(conn)
                self._cond.notify_all()
            hello = {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "loopback", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
            conn.send(frame(OP_TEXT, json.dumps(hello).encode()))
            self._read_loop(conn)
        except (_Closed, OSError):
            pass
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.sock.close()

    def _handshake(self, conn: _Conn) -> bool:
        raw = conn.read_until(b"\r\n\r\n").decode("latin-1")
        self.handshakes.append(raw)
        request, *lines = raw.split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, target, _version = (request.split(" ") + ["", "", ""])[:3]
        key = headers.get("sec-websocket-key", "")
        problems = [
            method != "GET" and f"method {method}",
            not target.startswith(self.path) and f"path {target}",
            headers.get("upgrade", "").lower() != "websocket" and "no Upgrade: websocket",
            "upgrade" not in headers.get("connection", "").lower() and "no Connection: Upgrade",
            headers.get("sec-websocket-version") != "13" and "not version 13",
            not valid_key(key) and "bad Sec-WebSocket-Key",
        ]
        problems = [p for p in problems if p]
        if problems:
            self.errors.append("handshake: " + ", ".join(problems))
            conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        conn.send(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        return True

    def _read_loop(self, conn: _Conn) -> None:
        parts: list[bytes] = []
        while True:
            try:
                fin, opcode, data = conn.read_frame()
            except ValueError as err:
                self.errors.append(str(err))
                conn.send(frame(OP_CLOSE, struct.pack("!H", 1002)))
                return
            if opcode == OP_PING:
                conn.send(frame(OP_PONG, data))
            elif opcode == OP_CLOSE:
                conn.send(frame(OP_CLOSE, data[:2]))
                return
            elif opcode in (OP_TEXT, OP_CONTINUATION):
                parts.append(data)
                if fin:
                    self._received(b"".join(parts))
                    parts = []
            elif opcode != OP_PONG:
                self.errors.append(f"unexpected opcode {opcode}")

    def _received(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.errors.append(f"not JSON: {data[:200]!r}")
            return
        with self._cond:
            self.received.append(Received(message, time.monotonic()))
            self._cond.notify_all()
