"""providers.base: the registry and the settings check."""

from __future__ import annotations

import pytest

from bot.config import Settings
from providers.base import get_provider_class, missing_settings
from providers.errors import UnknownProviderError


def test_registry_words_and_did_you_mean():
    assert get_provider_class("CF").name == "cf"
    assert get_provider_class("cloudflare").name == "cf"
    with pytest.raises(UnknownProviderError) as info:
        get_provider_class("videosd")
    assert info.value.suggestion == "videosdk"
    assert "cf (cloudflare)" in str(info.value)


def test_missing_settings_names_variables():
    settings = Settings(_env_file=None, cloudflare_api_token="t", cloudflare_account_id="")
    missing = missing_settings(
        settings, ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "REALTIMEKIT_APP_ID")
    )
    assert missing == ["CLOUDFLARE_ACCOUNT_ID", "REALTIMEKIT_APP_ID"]


def test_settings_hide_secrets():
    settings = Settings(_env_file=None, stream_api_secret="s3cret-value")
    assert "s3cret-value" not in repr(settings)
    assert settings.secrets() == ["s3cret-value"]
