"""Settings from the environment (or a `.env` file). Secrets are `SecretStr`: they print as
`**********` and must be unwrapped explicitly where a header is built."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # An exported-but-empty variable means "not set", not "set to the empty string".
        env_ignore_empty=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    # Cloudflare RealtimeKit
    cloudflare_api_token: SecretStr | None = None
    cloudflare_account_id: str | None = None
    realtimekit_app_id: str | None = None
    cloudflare_base_url: str = "https://api.cloudflare.com/client/v4"

    # VideoSDK
    videosdk_api_key: str | None = None
    videosdk_secret_key: SecretStr | None = None
    videosdk_base_url: str = "https://api.videosdk.live"

    # Stream Video
    stream_api_key: str | None = None
    stream_api_secret: SecretStr | None = None
    stream_base_url: str = "https://chat.stream-io-api.com"

    # What the answers show. City, ISP, user agent and custom ids reach the channel only with
    # SHOW_LOCATION=true; otherwise the Network button shows them to the person who asked.
    show_location: bool = False
    # "Open in <provider>" buttons. Placeholders: {account_id} {app_id} {session_id} {peer_id}
    # {participant_id} {call_type} {call_id} {user_id}; the defaults open the app-level page.
    cloudflare_dashboard_url: str = "https://dash.cloudflare.com/{account_id}/realtime/kit"
    videosdk_dashboard_url: str = "https://app.videosdk.live/"
    stream_dashboard_url: str = "https://dashboard.getstream.io/"

    # Behaviour
    http_timeout_s: float = 15.0
    lookup_workers: int = 8
    lookup_timeout_s: float = 60.0
    cache_ttl_s: float = 600.0

    def secrets(self) -> list[str]:
        """Every secret value that is set, for scrubbing logs and test assertions."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out
