"""Stream Video: one participant session's published-track metrics.

GetCallParticipantSessionMetrics (`GET /api/v2/video/call/{type}/{id}/session/{session}/
participant/{user}/{user_session}/details/track`) answers at most 30 minutes per request, so
the whole session (from Call Attendance) is fetched as adjacent windows in parallel and merged.
Stream reports only what the participant published: no loss, jitter, RTT or receive side,
and the report says so in `missing`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import httpx
import jwt
from pydantic import BaseModel, SecretStr, ValidationError

from providers import stream_summary as summary
from providers.base import Lookup, missing_settings, register
from providers.errors import (
    BadResponseError,
    CallQualityError,
    ConfigError,
    InputError,
    NotFoundError,
)
from providers.http import DEFAULT_TIMEOUT, Limits, RetryPolicy, make_client, request_json
from providers.ids import check_id, check_identity, segment
from providers.models import Listing, ListingRow, Report
from providers.settings import BaseProviderSettings
from providers.stream_normalize import AttendanceRow, Metrics, normalize
from providers.stream_windows import (
    MAX_WINDOW,
    Window,
    ceil_ms,
    floor_ms,
    iso,
    last_span,
    parse_window,
    split_window,
    to_unix,
)

DEFAULT_BASE_URL = "https://chat.stream-io-api.com"
MAX_TYPE_LEN = 64  # call type, call id and call session id (API limits)
MAX_USER_LEN = 256  # user id and user session id
WORKERS = 4  # concurrent window requests per lookup: fast, yet gentle on the rate limit
MAX_PAGES = 10  # attendance pages of 100 followed before we stop and say so
PAGE_SIZE = 100

_M = TypeVar("_M", bound=BaseModel)


class _Attendance(BaseModel):
    participants_sessions: list[AttendanceRow] | None = None
    total_participant_sessions: int | None = None
    next: str | None = None


def _split_call(word: str) -> tuple[str, str]:
    call_type, sep, call_id = word.partition(":")
    if not sep:
        raise InputError(
            f"`{word[:40]}` is not a call: write it as `<type>:<call_id>`, e.g. `default:abc`."
        )
    return check_id("call type", call_type, MAX_TYPE_LEN), check_id(
        "call id", call_id, MAX_TYPE_LEN
    )


class StreamSettings(BaseProviderSettings):
    stream_api_key: str | None = None
    stream_api_secret: SecretStr | None = None
    stream_base_url: str = "https://chat.stream-io-api.com"


@register
class StreamProvider:
    name: ClassVar[str] = "stream"
    label: ClassVar[str] = "Stream Video"
    aliases: ClassVar[tuple[str, ...]] = ()
    settings_class: ClassVar[type[BaseProviderSettings]] = StreamSettings
    settings_needed: ClassVar[tuple[str, ...]] = ("STREAM_API_KEY", "STREAM_API_SECRET")
    usage: ClassVar[tuple[str, ...]] = (
        "stream <type>:<call_id> <user_id> [last 10m | since <iso> until <iso>]",
        "stream <type>:<call_id> <session_id> <user_id> <user_session_id> [window]",
        "stream session <type>:<call_id> [session_id]",
    )
    example: ClassVar[str] = "stream default:standup-42 user-ada last 30m"

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        workers: int = WORKERS,
    ):
        self._api_key = api_key
        self._api_secret = api_secret
        self._retry = retry
        self._clock = clock or (lambda: datetime.now(UTC))
        self._workers = max(1, workers)
        # One client for every thread: httpx.Client is thread-safe and pools connections.
        self._client = make_client(
            base_url,
            headers={"Stream-Auth-Type": "jwt", "Authorization": self.token},
            transport=transport,
            timeout=timeout,
            limits=limits,
        )

    @classmethod
    def from_settings(
        cls, settings: StreamSettings, transport: httpx.BaseTransport | None = None
    ) -> StreamProvider:
        missing = missing_settings(settings, cls.settings_needed)
        if missing:
            raise ConfigError(cls.name, cls.label, missing)
        assert settings.stream_api_key and settings.stream_api_secret
        return cls(
            settings.stream_api_key,
            settings.stream_api_secret.get_secret_value(),
            base_url=settings.stream_base_url,
            transport=transport,
            timeout=httpx.Timeout(settings.http_timeout_s, connect=5.0),
            limits=Limits.from_settings(settings),
        )

    @cached_property
    def token(self) -> str:
        """Server-side JWT: HS256 over `{"server": true}` with the API secret, sent bare."""
        return jwt.encode({"server": True}, self._api_secret, algorithm="HS256")

    def close(self) -> None:
        self._client.close()

    # --- parsing ---------------------------------------------------------------------------------

    @classmethod
    def parse(cls, args: list[str]) -> Lookup:
        words = list(args)
        if not words:
            raise InputError("Give the call as `<type>:<call_id>` and the user id.")
        if words[0].lower() == "session":
            rest = words[1:]
            if len(rest) not in (1, 2):
                raise InputError("Write `stream session <type>:<call_id> [session_id]`.")
            call_type, call_id = _split_call(rest[0])
            ids = [("call_type", call_type), ("call_id", call_id)]
            if len(rest) == 2:
                ids.append(("session_id", check_id("call session id", rest[1], MAX_TYPE_LEN)))
            return Lookup(cls.name, "session", tuple(ids), args=tuple(words))
        # Window words start after the call and at least one id, so a user named "last" works.
        cut = next((i for i in range(2, len(words)) if words[i].lower() in ("last", "since")), None)
        id_words = words if cut is None else words[:cut]
        if len(id_words) not in (2, 4):
            raise InputError(
                "Write `stream <type>:<call_id> <user_id>` or "
                "`stream <type>:<call_id> <session_id> <user_id> <user_session_id>`."
            )
        call_type, call_id = _split_call(id_words[0])
        ids = [("call_type", call_type), ("call_id", call_id)]
        if len(id_words) == 2:
            kind = "resolve"
            ids.append(("user_id", check_id("user id", id_words[1], MAX_USER_LEN)))
        else:
            kind = "participant"
            ids.append(("session_id", check_id("call session id", id_words[1], MAX_TYPE_LEN)))
            ids.append(("user_id", check_id("user id", id_words[2], MAX_USER_LEN)))
            ids.append(("user_session_id", check_id("user session id", id_words[3], MAX_USER_LEN)))
        window: Window | None = None
        text: str | None = None
        if cut is not None:
            window, text = parse_window(words[cut:])
        return Lookup(
            cls.name, kind, tuple(ids), window=window, window_text=text, args=tuple(words)
        )

    # --- fetching --------------------------------------------------------------------------------

    def fetch(self, lookup: Lookup) -> Report | Listing:
        ids = lookup.id_map
        call_type, call_id = ids["call_type"], ids["call_id"]
        if lookup.kind == "session":
            session = ids.get("session_id") or self._latest_session(call_type, call_id)
            return self._session_listing(call_type, call_id, session)
        if lookup.kind == "resolve":
            session = self._latest_session(call_type, call_id)
            user = ids["user_id"]
            rows, _total, _more = self._attendance(call_type, call_id, session, user)
            rows = [r for r in rows if r.user_id in (None, user) and r.user_session_id]
            if not rows:
                raise NotFoundError(
                    f"User `{user}` has no session in the latest session of call "
                    f"`{call_type}:{call_id}` (session `{session}`).",
                    provider=self.name,
                    status=404,
                )
            if len(rows) > 1:
                return self._candidates(call_type, call_id, session, user, rows, lookup)
            ids = {**ids, "session_id": session, "user_session_id": rows[0].user_session_id or ""}
            return self._participant(ids, lookup, rows[0])
        return self._participant(ids, lookup, None)

    def _get(self, path: str, params: dict[str, Any], not_found: str) -> Any:
        return request_json(
            self._client,
            path,
            provider=self.name,
            label=self.label,
            params={"api_key": self._api_key, **params},
            auth_hint="Check STREAM_API_KEY and STREAM_API_SECRET.",
            not_found=not_found,
            retry=self._retry,
        )

    def _model(self, model: type[_M], body: Any) -> _M:
        try:
            return model.model_validate(body)
        except ValidationError:
            raise BadResponseError(
                f"{self.label} answered with JSON of an unexpected shape.", provider=self.name
            ) from None

    def _call_path(self, call_type: str, call_id: str) -> str:
        return f"api/v2/video/call/{segment(call_type)}/{segment(call_id)}"

    def _latest_session(self, call_type: str, call_id: str) -> str:
        body = self._get(
            self._call_path(call_type, call_id), {}, f"There is no call `{call_type}:{call_id}`."
        )
        call = body.get("call") if isinstance(body, dict) else None
        if not isinstance(call, dict):
            raise BadResponseError(f"{self.label} answered without the call.", provider=self.name)
        session = call.get("session") if isinstance(call.get("session"), dict) else {}
        found = session.get("id") or call.get("current_session_id")
        if not isinstance(found, str) or not found:
            raise NotFoundError(
                f"Call `{call_type}:{call_id}` has no session yet.", provider=self.name, status=404
            )
        return found

    def _attendance(
        self, call_type: str, call_id: str, session: str, user: str | None = None
    ) -> tuple[list[AttendanceRow], int | None, bool]:
        """Participant sessions (Call Attendance), following `next` for at most MAX_PAGES."""
        path = (
            f"{self._call_path(call_type, call_id)}/session/{segment(session)}/participant_sessions"
        )
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if user is not None:
            params["filter_conditions"] = json.dumps(
                {"user_id": {"$eq": user}}, separators=(",", ":")
            )
        rows: list[AttendanceRow] = []
        total: int | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._get(
                path, params, f"Call `{call_type}:{call_id}` has no session `{session}`."
            )
            page = self._model(_Attendance, body)
            rows.extend(page.participants_sessions or [])
            total = page.total_participant_sessions if total is None else total
            if not page.next or page.next in seen:
                return rows, total, False
            seen.add(page.next)
            params = {**params, "next": page.next}
        return rows, total, True

    def _metrics(self, ids: dict[str, str], window: Window | None) -> Metrics:
        call = self._call_path(ids["call_type"], ids["call_id"])
        path = (
            f"{call}/session/{segment(ids['session_id'])}"
            f"/participant/{segment(ids['user_id'])}/{segment(ids['user_session_id'])}/details/track"
        )
        params = {} if window is None else {"since": iso(window[0]), "until": iso(window[1])}
        body = self._get(
            path,
            params,
            f"No metrics for user `{ids['user_id']}` session `{ids['user_session_id']}` in call "
            f"`{ids['call_type']}:{ids['call_id']}` session `{ids['session_id']}`.",
        )
        metrics = self._model(Metrics, body)
        check_identity(
            self.label,
            self.name,
            {"user id": ids["user_id"], "user session id": ids["user_session_id"]},
            {"user id": metrics.user_id, "user session id": metrics.user_session_id},
        )
        return metrics

    def _find_row(self, ids: dict[str, str]) -> AttendanceRow | None:
        rows, _total, _more = self._attendance(
            ids["call_type"], ids["call_id"], ids["session_id"], ids["user_id"]
        )
        return next((r for r in rows if r.user_session_id == ids["user_session_id"]), None)

    def _window(
        self, ids: dict[str, str], lookup: Lookup, row: AttendanceRow | None, notes: list[str]
    ) -> Window:
        """The participant's whole session (or the `last` part of it) when no absolute window
        was asked for; from attendance, else from one default request (the last minute)."""
        now = self._clock()
        start = row.joined if row else None
        end = (row.left if row else None) or None
        if start is None:
            # Attendance is not real-time: ask the API for its default last minute instead.
            first = self._metrics(ids, None)
            start = first.joined
            latest = first.latest_point()
            end = datetime.fromtimestamp(latest + 1, UTC) if latest is not None else None
            if start is None:
                end = end or now
                start = end - timedelta(minutes=1)
                notes.append("The join time is unknown: only the last minute was fetched.")
        if end is None:
            end = now
        if end <= start:
            end = start + timedelta(minutes=1)
        if end - start > MAX_WINDOW:
            end = start + MAX_WINDOW
            notes.append("Only the first 24 hours of this session were fetched.")
        span = last_span(lookup.window_text or "")
        if span is not None:
            start = max(start, end - span)
        return floor_ms(start), ceil_ms(end)

    def _participant(
        self, ids: dict[str, str], lookup: Lookup, row: AttendanceRow | None
    ) -> Report:
        notes: list[str] = []
        if lookup.window is not None and lookup.window[0] and lookup.window[1]:
            window = (lookup.window[0], lookup.window[1])
        else:
            row = row or self._find_row(ids)
            window = self._window(ids, lookup, row, notes)
        windows = split_window(*window)
        chunks = list(zip(windows, self._fetch_windows(ids, windows), strict=True))
        return normalize(chunks, ids=ids, window=window, row=row, notes=notes)

    def _fetch_windows(self, ids: dict[str, str], windows: list[Window]) -> list[Metrics]:
        if len(windows) == 1:
            return [self._metrics(ids, windows[0])]
        with ThreadPoolExecutor(max_workers=min(self._workers, len(windows))) as pool:
            futures = [pool.submit(self._metrics, ids, w) for w in windows]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    # --- listings --------------------------------------------------------------------------------

    def _row(
        self, call: str, session: str, r: AttendanceRow, window_text: str | None
    ) -> ListingRow:
        words = ["stream", call, session, r.user_id or "?", r.user_session_id or "?"]
        return ListingRow(
            id=r.user_session_id or "?",
            name=r.user_id,
            joined_at=r.joined,
            left_at=r.left,
            duration_s=r.duration_s,
            command=" ".join(words + ([window_text] if window_text else [])),
        )

    def _candidates(
        self,
        call_type: str,
        call_id: str,
        session: str,
        user: str,
        rows: list[AttendanceRow],
        lookup: Lookup,
    ) -> Listing:
        call = f"{call_type}:{call_id}"
        rows = sorted(rows, key=lambda r: to_unix(r.joined_at) or 0.0)
        return Listing(
            provider=self.name,
            title=f"`{user}` joined session `{session}` of `{call}` {len(rows)} times: pick one",
            ids={
                "call_type": call_type,
                "call_id": call_id,
                "session_id": session,
                "user_id": user,
            },
            rows=[self._row(call, session, r, lookup.window_text) for r in rows],
            total=len(rows),
        )

    def _summaries(self, call_type: str, call_id: str, session: str) -> dict[str, Report]:
        """Each participant session's summary from the session stats endpoint; empty when the
        endpoint has none (then every participant is looked up in full)."""
        path = (
            f"api/v2/video/call_stats/{segment(call_type)}/{segment(call_id)}/{segment(session)}"
            "/participants"
        )
        ids = {"call_type": call_type, "call_id": call_id, "session_id": session}
        pages: list[summary.SummaryPage] = []
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        try:
            for _ in range(MAX_PAGES):
                body = self._get(path, params, "No session stats.")
                pages.append(self._model(summary.SummaryPage, body))
                if not pages[-1].next:
                    break
                params = {**params, "next": pages[-1].next}
        except CallQualityError:
            return {}
        return summary.reports(pages, ids)

    def _session_listing(self, call_type: str, call_id: str, session: str) -> Listing:
        call = f"{call_type}:{call_id}"
        rows, total, more = self._attendance(call_type, call_id, session)
        rows = sorted(rows, key=lambda r: to_unix(r.joined_at) or 0.0)
        notes = [f"Only the first {len(rows)} participant sessions are listed."] if more else []
        listed = [self._row(call, session, r, None) for r in rows if r.user_session_id]
        summaries = self._summaries(call_type, call_id, session)
        for row in listed:
            row.summary = summaries.get(row.id)
        return Listing(
            provider=self.name,
            title=f"Participant sessions of `{call}` (session `{session}`)",
            ids={"call_type": call_type, "call_id": call_id, "session_id": session},
            rows=listed,
            total=total if total is not None else len(rows),
            notes=notes,
        )
