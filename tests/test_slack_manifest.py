"""manifest.yml is valid for Slack and matches what the bot needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED_SCHEMA = ROOT.parent / "shared" / "reference" / "slack-app-manifest.schema.json"
LOCAL_SCHEMA = ROOT / "tests" / "fixtures" / "slack-app-manifest.schema.json"


def load_manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_the_schema():
    path = SHARED_SCHEMA if SHARED_SCHEMA.exists() else LOCAL_SCHEMA
    schema = json.loads(path.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(load_manifest(), schema, cls=jsonschema.Draft7Validator)


def test_schema_rejects_a_broken_manifest():
    # Guards the test above: the schema does catch mistakes.
    schema = json.loads(LOCAL_SCHEMA.read_text())
    broken = load_manifest()
    broken["features"]["bot_user"]["display_name"] = "call quality!"
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(broken))
    assert errors


def test_manifest_declares_what_the_bot_uses():
    manifest = load_manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/callquality"
    assert command["should_escape"] is False and command["usage_hint"]
    assert manifest["features"]["bot_user"]["display_name"] == "callquality"
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "files:write",
        "reactions:write",
    }
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == [
        "app_mention",
        "message.channels",
        "message.groups",
    ]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    text = (ROOT / "manifest.yml").read_text()
    assert text.count("https://<your-host>/slack/events") == 3
