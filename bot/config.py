"""Settings from the environment (or a `.env` file). Secrets are `SecretStr`: they print as
`**********` and must be unwrapped explicitly where a header is built."""

from __future__ import annotations

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

    # Behaviour
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
