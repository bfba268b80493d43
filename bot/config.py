"""Settings from the environment (or a `.env` file). Secrets are `SecretStr`: they print as
`**********` and must be unwrapped explicitly where a header is built."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from providers.cloudflare import CloudflareSettings
from providers.stream import StreamSettings
from providers.videosdk import VideoSDKSettings


class Settings(CloudflareSettings, VideoSDKSettings, StreamSettings):
    """The bot's settings: every provider's own (declared with the provider) plus Slack and
    runtime behaviour."""

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    # Webhooks and alerts
    alert_channel: str | None = None  # where graded calls are posted; unset: webhooks off
    alert_min_grade: str = "poor"  # post a call when a participant is this or worse
    webhook_delay_s: float = 120.0  # stats lag behind "ended" events
    webhook_retries: int = 3  # more tries while a call's stats are incomplete
    webhook_retry_s: float = 60.0
    webhook_max_age_s: float = 3600.0  # older events are refused as stale
    webhook_queue_size: int = 64  # calls waiting or being graded; beyond it, 503

    # What the answers show. City, ISP, user agent and custom ids reach the channel only with
    # SHOW_LOCATION=true; otherwise the Network button shows them to the person who asked.
    show_location: bool = False
    # "Open in <provider>" buttons. Placeholders: {account_id} {app_id} {session_id} {peer_id}
    # {participant_id} {call_type} {call_id} {user_id}; the defaults open the app-level page.
    cloudflare_dashboard_url: str = "https://dash.cloudflare.com/{account_id}/realtime/kit"
    videosdk_dashboard_url: str = "https://app.videosdk.live/"
    stream_dashboard_url: str = "https://dashboard.getstream.io/"

    # Behaviour
    lookup_workers: int = 8
    lookup_timeout_s: float = 60.0
    cache_ttl_s: float = 600.0
    overview_workers: int = 4  # participants of a session graded at once
    overview_budget_s: float = 40.0  # a session overview's time budget
    provider_deadline_s: float = 20.0  # one provider request, retries and slow bodies included
    provider_concurrency: int | None = None  # lookups per provider at once; None: half the workers
    provider_max_bytes: int = 32 * 1024 * 1024  # a provider body, compressed and decompressed

    # HTTP mode
    http_max_body_bytes: int = 1024 * 1024  # Slack's payloads are a few kB; views stay far below
    http_header_timeout_s: float = 10.0
    http_body_timeout_s: float = 10.0

    # State shared across restarts (and replicas, with Redis)
    callquality_data_dir: Path | None = None  # SQLite store; default: the user data directory
    redis_url: SecretStr | None = None  # may carry a password

    def secrets(self) -> list[str]:
        """Every secret value that is set, for scrubbing logs and test assertions."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out
