"""Provider error messages that echo our credentials back: masked before they reach Slack,
the terminal or the logs (whole, and no part of one left by the 40-character cut)."""

from __future__ import annotations

import logging

import jwt
import pytest

from bot.cli import main
from bot.redact import SecretFilter, one_line
from providers.errors import mask, shown
from tests.conftest import RunningBot, peer


def echoes(sandbox, provider: str) -> tuple[int, dict, list[str]]:
    """An error body quoting the credentials the client sent, and those credentials."""
    creds = sandbox.servers[provider].emulator.credentials()
    if provider == "cf":
        token = creds["CLOUDFLARE_API_TOKEN"]
        message = f"Authorization: Bearer {token} is not valid; token {token} unknown"
        return 401, {"success": False, "errors": [{"code": 10000, "message": message}]}, [token]
    if provider == "videosdk":
        token = jwt.encode({"apikey": creds["VIDEOSDK_API_KEY"]}, creds["VIDEOSDK_SECRET_KEY"])
        return 401, {"message": f"{token} expired"}, [token, creds["VIDEOSDK_SECRET_KEY"]]
    token = jwt.encode({"server": True}, creds["STREAM_API_SECRET"], algorithm="HS256")
    return 403, {"message": f"JWT {token} rejected", "code": 17}, [token]


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s[:8] for s in secrets if s in text or s[:12] in text]


@pytest.mark.parametrize("provider", ["cf", "videosdk", "stream"])
def test_echoed_credentials_never_reach_slack_or_the_logs(
    bot: RunningBot, sandbox, slack, caplog, provider
):
    caplog.set_level(logging.DEBUG)
    status, body, secrets = echoes(sandbox, provider)
    sandbox.servers[provider].emulator.faults.append((status, {}, body))
    bot.command(" ".join(peer(sandbox, "healthy", provider)))
    reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]["text"]
    assert "[redacted]" in reply
    assert not leaked(reply + caplog.text + slack.everything_sent(), secrets)


def test_echoed_credentials_never_reach_the_terminal(sandbox, monkeypatch, capsys):
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    status, body, secrets = echoes(sandbox, "cf")
    sandbox.servers["cf"].emulator.faults.append((status, {}, body))
    assert main(["check", *peer(sandbox, "healthy")]) == 1
    out, err = capsys.readouterr()
    assert "callquality: " in err and not leaked(out + err, secrets)


def test_masking_covers_configured_values_and_credential_shapes():
    token = "cf-token-0123456789abcdefghij"
    assert mask(f"x {token} y", [token]) == "x [redacted] y"
    assert mask("Authorization: Bearer abc.def") == "Authorization: [redacted]"
    assert mask("t=eyJhbGciOi.eyJzZXJ2ZXIi.sig_-x end") == "t=[redacted] end"
    assert shown("Bearer " + "z" * 60) == "[redacted]"
    assert SecretFilter(["s3cret"]).redact("a s3cret b") == "a [redacted] b"


def test_log_lines_cannot_be_forged_with_newlines():
    assert one_line("user text\nERROR forged line\r\n") == "user text\\nERROR forged line\\r\\n"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "said %s", ("a\nb",), None)
    SecretFilter().filter(record)
    assert record.getMessage() == "said a\\nb"
