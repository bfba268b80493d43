"""Provider settings: each provider declares the variables it reads, with its own class in
its own module; `ProviderSettings` is all of them together (what the sandbox hands out).

The bot's `Settings` (in `bot/config.py`) adds Slack and runtime settings on top of these, so a
provider never needs anything from the bot to be configured.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseProviderSettings(BaseSettings):
    """The environment (or a `.env` file) as every settings class here reads it."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # An exported-but-empty variable means "not set", not "set to the empty string".
        env_ignore_empty=True,
    )

    http_timeout_s: float = 15.0  # each provider request's limit


def provider_settings_class() -> type[BaseProviderSettings]:
    """Every registered provider's settings in one class."""
    from providers.base import all_providers

    bases = tuple(dict.fromkeys(p.settings_class for p in all_providers().values()))
    return type("ProviderSettings", bases, {})
