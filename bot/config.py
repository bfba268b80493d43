"""Settings from the environment (or a `.env` file). Secrets are `SecretStr`: they print as
`**********` and must be unwrapped explicitly where a header is built."""

from __future__ import annotations

from pathlib import Path

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

    # Behaviour
    http_timeout_s: float = 15.0
    lookup_workers: int = 8
    lookup_timeout_s: float = 60.0
    cache_ttl_s: float = 600.0
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
