"""Cloudflare RealtimeKit: peer report / participant details -> normalized Report.

Forms: `cf <peer_id>` (the peer report), `cf <session_id> <participant_id>` (participant details
joined with that participant's peer report; the participant id is the peer id) and
`cf session <session_id>` (the participants of a session).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr, ValidationError
from pydantic_core import from_json

from providers import cloudflare_raw as raw
from providers.base import Lookup, missing_settings, register
from providers.cloudflare_normalize import PROVIDER, normalize
from providers.cloudflare_series import when
from providers.errors import BadResponseError, ConfigError, InputError, NotFoundError
from providers.http import Limits, RetryPolicy, error_message, make_client, request_json
from providers.ids import check_identity, check_uuid, segment
from providers.models import Listing, ListingRow, Report
from providers.settings import BaseProviderSettings

LABEL = "Cloudflare RealtimeKit"
AUTH_HINT = (
    'Check CLOUDFLARE_API_TOKEN: it needs the "Realtime" or "Realtime Admin" permission on '
    "the account in CLOUDFLARE_ACCOUNT_ID (and REALTIMEKIT_APP_ID must be an app of it)."
)
FORMS = ("cf <peer_id>", "cf <session_id> <participant_id>", "cf session <session_id>")


def _loads(content: bytes) -> Any:
    # An hour of per-second stats is a ~6 MB body: pydantic's decoder reads it in about a
    # third of the time of the standard library (keys cached: every sample repeats them).
    return from_json(content, cache_strings="keys")


class CloudflareSettings(BaseProviderSettings):
    cloudflare_api_token: SecretStr | None = None
    cloudflare_account_id: str | None = None
    realtimekit_app_id: str | None = None
    cloudflare_base_url: str = "https://api.cloudflare.com/client/v4"
    # The public key RealtimeKit signs its webhooks with.
    cloudflare_webhook_key_url: str = (
        "https://api.realtime.cloudflare.com/.well-known/webhooks.json"
    )


@register
class CloudflareProvider:
    name: ClassVar[str] = PROVIDER
    aliases: ClassVar[tuple[str, ...]] = ("cloudflare",)
    label: ClassVar[str] = LABEL
    settings_class: ClassVar[type[BaseProviderSettings]] = CloudflareSettings
    settings_needed: ClassVar[tuple[str, ...]] = (
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "REALTIMEKIT_APP_ID",
    )
    usage: ClassVar[tuple[str, ...]] = FORMS
    example: ClassVar[str] = "cf 182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
    page_size: int = 100
    max_pages: int = 10

    def __init__(
        self, client: httpx.Client, account_id: str, app_id: str, retry: RetryPolicy | None = None
    ):
        self.client = client
        self.retry = retry
        self._root = f"accounts/{segment(account_id)}/realtime/kit/{segment(app_id)}/sessions"

    @classmethod
    def parse(cls, args: list[str]) -> Lookup:
        """Validate the words after `cf`; nothing is sent."""
        forms = "Use " + ", ".join(f"`{f}`" for f in FORMS) + "."
        if len(args) == 2 and args[0].lower() == "session":
            sid = check_uuid("session id", args[1])
            return Lookup(cls.name, "session", (("session_id", sid),), args=("session", sid))
        if len(args) == 1 and args[0].lower() != "session":
            peer = check_uuid("peer id", args[0])
            return Lookup(cls.name, "participant", (("peer_id", peer),), args=(peer,))
        if len(args) == 2:
            sid = check_uuid("session id", args[0])
            pid = check_uuid("participant id", args[1])
            ids = (("session_id", sid), ("participant_id", pid))
            return Lookup(cls.name, "participant", ids, args=(sid, pid))
        raise InputError(f"{LABEL} takes a peer id, or a session id and a participant id. {forms}")

    @classmethod
    def from_settings(
        cls,
        settings: CloudflareSettings,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> CloudflareProvider:
        missing = missing_settings(settings, cls.settings_needed)
        if missing:
            raise ConfigError(cls.name, LABEL, missing)
        token = settings.cloudflare_api_token.get_secret_value()  # type: ignore[union-attr]
        timeout = httpx.Timeout(settings.http_timeout_s, connect=min(5.0, settings.http_timeout_s))
        client = make_client(
            settings.cloudflare_base_url,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=timeout,
            limits=Limits.from_settings(settings),
        )
        return cls(client, settings.cloudflare_account_id, settings.realtimekit_app_id, retry)

    def close(self) -> None:
        self.client.close()

    # --- HTTP -----------------------------------------------------------------------------------
    def _get(self, path: str, not_found: str, **params: Any) -> raw.Envelope:
        body = request_json(
            self.client,
            f"{self._root}/{path}",
            provider=self.name,
            label=LABEL,
            params=params,
            auth_hint=AUTH_HINT,
            not_found=not_found,
            retry=self.retry,
            loads=_loads,
        )
        if not isinstance(body, dict):
            raise BadResponseError(
                f"{LABEL} answered with JSON that is not an object.", provider=self.name
            )
        if body.get("success") is False:
            detail = error_message(body)
            err = body.get("error")
            if isinstance(err, dict) and err.get("code") == 404:
                raise NotFoundError(f"{not_found} ({detail})", provider=self.name, status=404)
            raise BadResponseError(
                f"{LABEL} reported a failure" + (f" ({detail[:200]})." if detail else "."),
                provider=self.name,
            )
        try:
            return raw.Envelope.model_validate(body)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise BadResponseError(
                f"{LABEL} answered in an unexpected shape (at `{where[:80]}`).", provider=self.name
            ) from None

    def _participant(self, path: str, not_found: str) -> raw.Participant:
        env = self._get(path, not_found, include_peer_events="true")
        if env.data is None or env.data.participant is None:
            raise NotFoundError(not_found, provider=self.name, status=200)
        return env.data.participant

    def fetch(self, lookup: Lookup) -> Report | Listing:
        ids = lookup.id_map
        if lookup.kind == "session":
            return self._listing(ids["session_id"])
        return self._report(ids)

    def senders(self, report: Report) -> list[Lookup]:
        """The peers whose media this participant received, as lookups (no request made)."""
        own = {report.ids.get("peer_id"), report.participant.id}
        out = []
        for peer in report.senders:
            if peer in own:
                continue
            try:
                out.append(self.parse([peer]))
            except InputError:
                continue  # not an id we would look up
        return out

    def _report(self, ids: dict[str, str]) -> Report:
        if "peer_id" in ids:
            peer = self._participant(
                f"peer-report/{segment(ids['peer_id'])}",
                f"No {LABEL} peer `{ids['peer_id']}` in this app (stats are kept 30 days).",
            )
            self._same(peer, {"peer id": ids["peer_id"]})
            return normalize(peer, ids={"peer_id": ids["peer_id"]})
        sid, pid = ids["session_id"], ids["participant_id"]
        details = self._participant(
            f"{segment(sid)}/participants/{segment(pid)}",
            f"No participant `{pid}` in {LABEL} session `{sid}`.",
        )
        self._same(details, {"participant id": pid, "session id": sid})
        notes = []
        try:
            peer = self._participant(f"peer-report/{segment(pid)}", "No peer report.")
        except NotFoundError:
            peer, notes = None, [f"{LABEL} has no peer report (call stats) for this participant."]
        if peer is not None:
            self._same(peer, {"peer id": pid, "session id": sid})
        report = normalize(
            peer or raw.Participant(), details, {"session_id": sid, "participant_id": pid}
        )
        report.notes.extend(notes)
        return report

    def _same(self, who: raw.Participant, asked: dict[str, str]) -> None:
        answered = {
            "peer id": who.id,
            "participant id": who.id,  # the participant id is the peer id
            "session id": who.session_id,
        }
        check_identity(LABEL, self.name, asked, answered, fold_case=True)

    def _listing(self, sid: str) -> Listing:
        rows: list[ListingRow] = []
        total: int | None = None
        not_found = f"No {LABEL} session `{sid}` in this app."
        for page in range(1, self.max_pages + 1):
            env = self._get(
                f"{segment(sid)}/participants",
                not_found,
                page_no=page,
                per_page=self.page_size,
            )
            data = env.data or raw.Data()
            got = [p for p in data.participants or [] if p is not None and p.id]
            paging = data.paging or env.paging
            if paging and paging.total_count is not None:
                total = paging.total_count
            rows += [
                ListingRow(
                    id=p.id,
                    name=p.display_name,
                    joined_at=when(p.joined_at),
                    left_at=when(p.left_at),
                    duration_s=p.duration * 60 if p.duration is not None else None,
                    command=f"cf {sid} {p.id}",
                )
                for p in got
            ]
            if len(got) < self.page_size or (total is not None and len(rows) >= total):
                break
        listing = Listing(
            provider=self.name,
            title=f"Participants of {LABEL} session {sid}",
            ids={"session_id": sid},
            rows=rows,
            total=total if total is not None else len(rows),
        )
        if listing.total and listing.total > len(rows):
            listing.notes.append(f"Showing the first {len(rows)} of {listing.total}.")
        return listing


def parse_peer_report(body: dict[str, Any], ids: Iterable[tuple[str, str]] = ()) -> Report:
    """Normalize one peer-report body (tests, fixtures and the benchmark use this seam)."""
    env = raw.Envelope.model_validate(body)
    participant = env.data.participant if env.data and env.data.participant else raw.Participant()
    return normalize(participant, ids=dict(ids))
