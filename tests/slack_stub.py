"""A local HTTP stub of the Slack Web API (and of response_url webhooks) that records every call.

Serves what the bot uses: auth.test, chat.postMessage (stores messages with their metadata,
returns channel and ts), chat.postEphemeral (stored in `ephemerals`), chat.update (rewrites the
stored message), chat.getPermalink, conversations.replies (serves the stored thread back,
metadata only with include_all_metadata like Slack, file shares as messages with `files`), the
three upload steps (files.getUploadURLExternal returns an absolute upload_url on this stub),
files.delete, reactions.add / reactions.remove (kept in `reactions`), views.open (kept in
`views`), `/response/<id>` as a response_url, and apps.connections.open (returns `socket_url`,
the WebSocket URL of a Socket Mode stub, once a test sets it).

Programmable failures: `fail_channels[channel] = "not_in_channel"`, `rate_limit_once` (a set of
method names answered 429 once), `rate_limits` (method name -> calls in a row answered 429),
`upload_failures` (raw upload POSTs answered 500), `update_error` (chat.update refused).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from providers.sandbox import LoopbackServer

BOT_USER_ID = "UCQBOT01"
BOT_ID = "BCQBOT01"
TEAM_ID = "TCQTEAM1"
RECHECK_S = 0.25


def blocks_text(blocks: list[dict[str, Any]] | None) -> str:
    """Every text in the blocks (sections, fields, context elements, button labels)."""
    out = []

    def text(value: Any) -> str:
        return value.get("text", "") if isinstance(value, dict) else str(value or "")

    for block in blocks or []:
        if "text" in block:
            out.append(text(block["text"]))
        out.extend(text(f) for f in block.get("fields", []))
        out.extend(text(e.get("text")) for e in block.get("elements", []))
    return "\n".join(out)


def buttons(message_blocks: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The buttons of a message, by action id."""
    return {
        e["action_id"]: e
        for block in message_blocks or []
        if block.get("type") == "actions"
        for e in block["elements"]
    }


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage"), "upload" or "response"
    path: str
    headers: dict[str, str]
    raw: bytes
    args: dict[str, Any]  # form fields, JSON body or query, merged
    status: int = 200

    def text_blob(self) -> str:
        """Everything that was sent, as text (for "no secret leaked" checks)."""
        return (
            " ".join(f"{k}: {v}" for k, v in self.headers.items())
            + " "
            + self.raw.decode("utf-8", "replace")
        )


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    bot_id: str | None = None
    files: list[dict[str, Any]] | None = None  # a file shared into the thread
    edits: int = 0  # how many times chat.update rewrote it

    def as_api(self, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.blocks:
            out["blocks"] = self.blocks
        if self.files:
            out["files"] = self.files
        if self.metadata:
            out["metadata"] = (
                self.metadata
                if with_metadata
                else {"event_type": self.metadata.get("event_type"), "event_payload": {}}
            )
        return out


@dataclass
class Upload:
    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes = b""
    channel: str | None = None
    thread_ts: str | None = None
    title: str | None = None


class SlackStub:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.uploads: dict[str, Upload] = {}
        self.responses: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.reactions: dict[tuple[str, str], set[str]] = {}  # (channel, ts) -> names
        self.deleted_files: list[str] = []
        self.update_error: str | None = None  # chat.update answers this error when set
        self.fail_channels: dict[str, str] = {}
        self.rate_limit_once: set[str] = set()
        self.rate_limits: dict[str, int] = {}  # method -> how many calls in a row get 429
        self.upload_failures = 0
        self.socket_url: str | None = None
        # Reentrant: wait_for holds it while its predicate reads the stub's lists.
        self._lock = threading.Condition(threading.RLock())
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.root + "/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.root}/response/{name}"

    def start(self) -> SlackStub:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    # --- helpers for tests -----------------------------------------------------------------
    def next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.{next(self._ids):06d}"

    def add_user_message(
        self, channel: str, text: str, user: str = "UHUMAN01", thread_ts: str | None = None
    ) -> str:
        """A message a person posted (the stub only sees the bot's own posts otherwise)."""
        ts = self.next_ts()
        with self._lock:
            self.messages.append(Message(channel, ts, text, user, thread_ts=thread_ts))
        return ts

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[Message]:
        with self._lock:
            return [
                m
                for m in self.messages
                if m.user == BOT_USER_ID
                and not m.files
                and (channel is None or m.channel == channel)
                and (thread_ts is None or m.thread_ts == thread_ts)
            ]

    def parents(self, channel: str | None = None) -> list[Message]:
        return [m for m in self.posts(channel) if m.thread_ts is None]

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def shared_files(self, thread_ts: str | None = None) -> list[Upload]:
        with self._lock:
            return [
                u
                for u in self.uploads.values()
                if u.channel
                and u.file_id not in self.deleted_files
                and (thread_ts is None or u.thread_ts == thread_ts)
            ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """The first truthy `predicate()`, checked again after every call the stub answers
        (and at least every `RECHECK_S`, for predicates about anything else)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = predicate()
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
                self._lock.wait(min(left, RECHECK_S))

    def changed(self) -> None:
        """Wake `wait_for`: a call was answered."""
        with self._lock:
            self._lock.notify_all()

    def everything_sent(self) -> str:
        with self._lock:
            return "\n".join(c.text_blob() for c in self.calls)

    # --- routing ---------------------------------------------------------------------------
    def handle(
        self,
        method_name: str,
        path: str,
        headers: dict[str, str],
        raw: bytes,
        query: dict[str, Any],
    ) -> tuple[int, dict[str, str], Any]:
        args = dict(query)
        ctype = headers.get("content-type", "")
        if path.startswith("/upload/"):
            args = {}
        elif "application/json" in ctype and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update(
                {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            )
        call = Call(method_name, path, headers, raw, args)
        with self._lock:
            self.calls.append(call)
            limited = method_name in self.rate_limit_once
            self.rate_limit_once.discard(method_name)
            if self.rate_limits.get(method_name, 0) > 0:
                self.rate_limits[method_name] -= 1
                limited = True
        if limited:
            call.status = 429
            return 429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"}
        route = getattr(self, "_" + method_name.replace(".", "_"), None)
        if route is None:
            return 200, {}, {"ok": True}
        status, extra, body = route(args, raw, path)
        call.status = status
        return status, extra, body

    def _auth_test(self, args, raw, path):
        return (
            200,
            {},
            {
                "ok": True,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team_id": TEAM_ID,
                "user": "callquality",
                "team": "Test",
                "url": "https://test.slack.com/",
            },
        )

    def _post(self, args: dict[str, Any]) -> tuple[int, dict, Any]:
        channel = args.get("channel", "")
        error = self.fail_channels.get(channel)
        if error:
            return 200, {}, {"ok": False, "error": error}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        msg = Message(
            channel,
            self.next_ts(),
            args.get("text", ""),
            BOT_USER_ID,
            blocks,
            args.get("thread_ts") or None,
            metadata,
            BOT_ID,
        )
        with self._lock:
            self.messages.append(msg)
        return (
            200,
            {},
            {
                "ok": True,
                "channel": channel,
                "ts": msg.ts,
                "message": msg.as_api(with_metadata=True),
            },
        )

    def _apps_connections_open(self, args, raw, path):
        if self.socket_url is None:
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
        return 200, {}, {"ok": True, "url": self.socket_url}

    def _chat_postMessage(self, args, raw, path):  # noqa: N802 (Slack's method name)
        return self._post(args)

    def _chat_postEphemeral(self, args, raw, path):  # noqa: N802
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            args = {**args, "blocks": json.loads(blocks)}
        with self._lock:
            self.ephemerals.append(args)
        return 200, {}, {"ok": True, "message_ts": self.next_ts()}

    def _chat_update(self, args, raw, path):
        if self.update_error:
            return 200, {}, {"ok": False, "error": self.update_error}
        msg = self.message(args.get("channel", ""), args.get("ts", ""))
        if msg is None:
            return 200, {}, {"ok": False, "error": "message_not_found"}
        blocks = args.get("blocks")
        metadata = args.get("metadata")
        with self._lock:
            if "text" in args:
                msg.text = args["text"]
            if blocks is not None:
                msg.blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            if metadata is not None:
                msg.metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
            msg.edits += 1
        return 200, {}, {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _chat_getPermalink(self, args, raw, path):  # noqa: N802
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        link = f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return 200, {}, {"ok": True, "channel": channel, "permalink": link}

    def _reactions_add(self, args, raw, path):
        with self._lock:
            key = (args.get("channel", ""), args.get("timestamp", ""))
            self.reactions.setdefault(key, set()).add(args.get("name", ""))
        return 200, {}, {"ok": True}

    def _reactions_remove(self, args, raw, path):
        with self._lock:
            key = (args.get("channel", ""), args.get("timestamp", ""))
            self.reactions.get(key, set()).discard(args.get("name", ""))
        return 200, {}, {"ok": True}

    def _views_open(self, args, raw, path):
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        with self._lock:
            self.views.append({"trigger_id": args.get("trigger_id"), "view": view})
        return 200, {}, {"ok": True, "view": {"id": f"V{next(self._ids):08d}", **(view or {})}}

    def _files_delete(self, args, raw, path):
        with self._lock:
            self.deleted_files.append(args.get("file", ""))
            self.messages = [
                m
                for m in self.messages
                if not any(f["id"] == args.get("file") for f in m.files or [])
            ]
        return 200, {}, {"ok": True}

    def _conversations_replies(self, args, raw, path):
        channel, ts = args.get("channel"), args.get("ts")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            thread = [
                m
                for m in self.messages
                if m.channel == channel and (m.ts == ts or m.thread_ts == ts)
            ]
        if not thread:
            return 200, {}, {"ok": False, "error": "thread_not_found"}
        thread.sort(key=lambda m: float(m.ts))
        limit = int(args.get("limit") or 1000)
        return (
            200,
            {},
            {
                "ok": True,
                "messages": [m.as_api(with_metadata) for m in thread[:limit]],
                "has_more": len(thread) > limit,
            },
        )

    def _files_getUploadURLExternal(self, args, raw, path):  # noqa: N802
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.uploads[file_id] = Upload(
                file_id, args.get("filename", ""), int(args.get("length", 0)), args.get("alt_txt")
            )
        return (
            200,
            {},
            {"ok": True, "file_id": file_id, "upload_url": f"{self.root}/upload/{file_id}"},
        )

    def _upload(self, args, raw, path):
        with self._lock:
            if self.upload_failures > 0:
                self.upload_failures -= 1
                return 500, {}, "upload failed"
            upload = self.uploads.get(path.rsplit("/", 1)[-1])
            if upload is None:
                return 404, {}, "no such upload"
            upload.data = raw
        return 200, {}, f"OK - {len(raw)}"

    def _files_completeUploadExternal(self, args, raw, path):  # noqa: N802
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        channel = args.get("channel_id")
        if channel and self.fail_channels.get(channel):
            return 200, {}, {"ok": False, "error": self.fail_channels[channel]}
        out = []
        with self._lock:
            for f in files or []:
                upload = self.uploads.get(f.get("id"))
                if upload is None:
                    return 200, {}, {"ok": False, "error": "file_not_found"}
                upload.channel, upload.thread_ts = channel, args.get("thread_ts")
                upload.title = f.get("title")
                out.append({"id": upload.file_id, "title": upload.title, "name": upload.filename})
            if channel and args.get("thread_ts"):
                # Slack shares a file into a thread as a message of the uploader's.
                self.messages.append(
                    Message(
                        channel,
                        self.next_ts(),
                        "",
                        BOT_USER_ID,
                        thread_ts=args.get("thread_ts"),
                        bot_id=BOT_ID,
                        files=[dict(f) for f in out],
                    )
                )
        return 200, {}, {"ok": True, "files": out}

    def _response(self, args, raw, path):
        with self._lock:
            self.responses.append(args)
        return 200, {}, "ok"


class _Server(LoopbackServer):
    stub: SlackStub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path.startswith("/api/"):
            name = parts.path[len("/api/") :]
        elif parts.path.startswith("/upload/"):
            name = "upload"
        elif parts.path.startswith("/response/"):
            name = "response"
        else:
            name = "unknown"
        stub = self.server.stub
        try:
            status, extra, body = stub.handle(name, parts.path, headers, raw, query)
        finally:
            stub.changed()
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            extra = {"Content-Type": "application/json; charset=utf-8", **extra}
        else:
            data = str(body).encode()
            extra = {"Content-Type": "text/plain", **extra}
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
