"""VideoSDK (videosdk.live): one participant's quality stats from the v2 REST API.

    videosdk <session_id> <participant_id>   GET /v2/sessions/{s}/participant/{p}/stats
    videosdk session <session_id>            GET /v2/sessions/{s}/participants (paginated)

Auth is a short-lived HS256 JWT minted from VIDEOSDK_API_KEY / VIDEOSDK_SECRET_KEY and sent
as the bare `Authorization` header (no `Bearer` prefix). VideoSDK publishes no schema for the
stats body, only an example, so every field is optional and units are decided from the
magnitudes in that example (see `videosdk_raw.Stat`); `videosdk_normalize` builds the Report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import jwt
from pydantic import SecretStr, ValidationError

from providers import videosdk_raw as raw
from providers.base import Lookup, missing_settings, register
from providers.errors import BadResponseError, ConfigError, InputError
from providers.http import Limits, RetryPolicy, make_client, request_json
from providers.ids import check_id, check_identity, segment
from providers.models import Listing, ListingRow, Report
from providers.settings import BaseProviderSettings
from providers.videosdk_normalize import NAME, normalize

LABEL = "VideoSDK"
MAX_ID_LEN = 64  # VideoSDK ids are short (24-hex session ids, 8-char participant ids)
AUTH_HINT = "Check VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY."
FORMS = ("videosdk <session_id> <participant_id>", "videosdk session <session_id>")

TOKEN_TTL_S = 600
TOKEN_RENEW_BEFORE_S = 60
# The official server SDK mints its REST tokens with these permissions; the `crawler` role is
# what keeps such a token out of meetings, so nothing here can join a call.
TOKEN_PERMISSIONS = ("allow_join", "allow_mod")

PER_PAGE = 50
MAX_PAGES = 20  # 1,000 participants: more than any session we are asked about


class TokenSource:
    """Mints the VideoSDK server token and reuses it until it is close to expiry.

    `clock` returns Unix seconds; tests inject one to cross the renewal point without waiting.
    """

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        ttl_s: int = TOKEN_TTL_S,
        renew_before_s: int = TOKEN_RENEW_BEFORE_S,
        permissions: tuple[str, ...] = TOKEN_PERMISSIONS,
        clock: Callable[[], float] = time.time,
    ):
        self._api_key = api_key
        self._secret = secret
        self._ttl_s = ttl_s
        self._renew_before_s = renew_before_s
        self._permissions = list(permissions)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:  # the secret stays out of reprs, logs and debuggers
        return "TokenSource(<hidden>)"

    def token(self) -> str:
        now = self._clock()
        if self._token is None or self._expires - now < self._renew_before_s:
            iat = int(now)
            claims = {
                "apikey": self._api_key,
                "permissions": self._permissions,
                "version": 2,  # v2 REST refuses tokens without it
                "roles": ["crawler"],  # server-side API access only
                "iat": iat,
                "exp": iat + self._ttl_s,
            }
            self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            self._expires = float(iat + self._ttl_s)
        return self._token


# --- the session listing -----------------------------------------------------------------------


def _listing(session_id: str, pages: list[raw.ParticipantsPage], truncated: bool) -> Listing:
    rows: dict[str, ListingRow] = {}
    for page in pages:
        sessions = page.data if isinstance(page.data, list) else [page.data] if page.data else []
        # An array may hold other sessions; keep ours when it is there.
        ours = [s for s in sessions if s.id == session_id] or sessions
        for session in ours:
            for p in session.participants or []:
                if not p.participant_id or p.participant_id in rows:
                    continue
                spans = [(raw.when(t.start), raw.when(t.end)) for t in p.timelog or []]
                starts = [a for a, _ in spans if a]
                ends = [b for _, b in spans if b]
                still_in = any(a and not b for a, b in spans)
                duration = sum((b - a).total_seconds() for a, b in spans if a and b)
                try:
                    check_id("participant id", p.participant_id, MAX_ID_LEN)
                    command = f"{NAME} {session_id} {p.participant_id}"
                except InputError:
                    command = None
                rows[p.participant_id] = ListingRow(
                    id=p.participant_id,
                    name=p.name,
                    joined_at=min(starts) if starts else None,
                    left_at=None if still_in or not ends else max(ends),
                    duration_s=duration if spans else None,
                    command=command,
                )
    total = len(rows)
    notes = []
    last = pages[-1].page_info if pages else None
    if truncated:
        notes.append(f"Only the first {len(pages)} pages of participants are shown.")
        if last and last.total is not None:
            total = int(last.total)
    return Listing(
        provider=NAME,
        title=f"{LABEL} session {session_id}: {len(rows)} participant(s)",
        ids={"session": session_id},
        rows=sorted(
            rows.values(),
            key=lambda r: (r.joined_at.timestamp() if r.joined_at else float("inf"), r.id),
        ),
        total=total,
        notes=notes,
    )


# --- the provider ------------------------------------------------------------------------------


class VideoSDKSettings(BaseProviderSettings):
    videosdk_api_key: str | None = None
    videosdk_secret_key: SecretStr | None = None
    videosdk_base_url: str = "https://api.videosdk.live"


@register
class VideoSDKProvider:
    name: ClassVar[str] = NAME
    label: ClassVar[str] = LABEL
    aliases: ClassVar[tuple[str, ...]] = ("vs",)
    settings_class: ClassVar[type[BaseProviderSettings]] = VideoSDKSettings
    settings_needed: ClassVar[tuple[str, ...]] = ("VIDEOSDK_API_KEY", "VIDEOSDK_SECRET_KEY")
    usage: ClassVar[tuple[str, ...]] = FORMS
    example: ClassVar[str] = "videosdk 62d13ccea0f6ac85649d7931 fj9jxhtw"

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        base_url: str = "https://api.videosdk.live",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        per_page: int = PER_PAGE,
        max_pages: int = MAX_PAGES,
    ):
        self._tokens = TokenSource(api_key, secret, clock=clock)
        kwargs = {"timeout": timeout} if timeout is not None else {}
        self._client = make_client(base_url, transport=transport, limits=limits, **kwargs)
        self._retry = retry
        self._per_page = per_page
        self._max_pages = max_pages

    @classmethod
    def parse(cls, args: list[str]) -> Lookup:
        words = tuple(args)
        if len(words) == 2 and words[0].lower() == "session":
            sid = check_id("VideoSDK session id", words[1], MAX_ID_LEN)
            return Lookup(NAME, "session", (("session", sid),), args=words)
        if len(words) == 2:
            sid = check_id("VideoSDK session id", words[0], MAX_ID_LEN)
            pid = check_id("VideoSDK participant id", words[1], MAX_ID_LEN)
            return Lookup(NAME, "participant", (("session", sid), ("participant", pid)), args=words)
        got = "nothing" if not words else f"{len(words)} word(s)"
        hint = (
            f" To list the session's participants: `videosdk session {words[0]}`."
            if len(words) == 1 and len(words[0]) <= MAX_ID_LEN
            else ""
        )
        raise InputError(
            f"{LABEL} needs a session id and a participant id, got {got}. "
            f"Use `{FORMS[0]}` or `{FORMS[1]}`.{hint}"
        )

    @classmethod
    def from_settings(
        cls,
        settings: VideoSDKSettings,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> VideoSDKProvider:
        missing = missing_settings(settings, cls.settings_needed)
        if missing:
            raise ConfigError(NAME, LABEL, missing)
        secret = settings.videosdk_secret_key
        return cls(
            settings.videosdk_api_key or "",
            secret.get_secret_value() if secret else "",
            base_url=settings.videosdk_base_url,
            transport=transport,
            timeout=httpx.Timeout(
                settings.http_timeout_s, connect=min(5.0, settings.http_timeout_s)
            ),
            limits=Limits.from_settings(settings),
            retry=retry,
            clock=clock,
        )

    def fetch(self, lookup: Lookup) -> Report | Listing:
        ids = lookup.id_map
        # Second fence: a Lookup built by hand is checked like a parsed one.
        sid = check_id("VideoSDK session id", ids.get("session", ""), MAX_ID_LEN)
        if lookup.kind == "session":
            return self.participants(sid)
        pid = check_id("VideoSDK participant id", ids.get("participant", ""), MAX_ID_LEN)
        return self.report(sid, pid)

    def senders(self, report: Report) -> list[Lookup]:
        """The session's other participants (one listing request): VideoSDK's stats do not
        say whose media was received, so every other participant is a candidate."""
        sid, own = report.ids.get("session"), report.ids.get("participant")
        if not sid:
            return []
        listing = self.participants(sid)
        return [self.parse([sid, row.id]) for row in listing.rows if row.id != own]

    def report(self, session_id: str, participant_id: str) -> Report:
        body = self._get(
            f"v2/sessions/{segment(session_id)}/participant/{segment(participant_id)}/stats",
            not_found=f"{LABEL} has no participant `{participant_id}` in session `{session_id}`.",
        )
        try:
            stats = raw.ParticipantStats.model_validate(body)
        except ValidationError:
            raise BadResponseError(
                f"{LABEL} answered with participant stats in an unexpected shape.", provider=NAME
            ) from None
        check_identity(
            LABEL,
            NAME,
            {"session id": session_id, "participant id": participant_id},
            {"session id": stats.session_id, "participant id": stats.participant_id},
        )
        return normalize(stats, session_id, participant_id)

    def participants(self, session_id: str) -> Listing:
        pages: list[raw.ParticipantsPage] = []
        page = 1
        truncated = False
        while True:
            body = self._get(
                f"v2/sessions/{segment(session_id)}/participants",
                params={"page": page, "perPage": self._per_page},
                not_found=f"{LABEL} has no session `{session_id}`.",
            )
            try:
                parsed = raw.ParticipantsPage.model_validate(body)
            except ValidationError:
                raise BadResponseError(
                    f"{LABEL} answered with a participant list in an unexpected shape.",
                    provider=NAME,
                ) from None
            pages.append(parsed)
            info = parsed.page_info
            if not info or info.current_page is None or info.last_page is None:
                break
            if info.current_page >= info.last_page:
                break
            if len(pages) >= self._max_pages:
                truncated = True
                break
            page = int(info.current_page) + 1
        return _listing(session_id, pages, truncated)

    def _get(self, path: str, *, not_found: str, params: dict[str, Any] | None = None) -> Any:
        body = request_json(
            self._client,
            path,
            provider=NAME,
            label=LABEL,
            params=params,
            headers={"Authorization": self._tokens.token()},
            auth_hint=AUTH_HINT,
            not_found=not_found,
            retry=self._retry,
        )
        if not isinstance(body, dict):
            raise BadResponseError(
                f"{LABEL} answered with JSON that is not an object.", provider=NAME
            )
        return body

    def close(self) -> None:
        self._client.close()
