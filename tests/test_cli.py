"""The `callquality` console script end to end: check (text and --json) against a loopback
Cloudflare emulator, bad input refused before any request, and the sandbox demo."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import EXIT_BAD_INPUT, main
from bot.config import Settings
from providers.emulators.cloudflare import EMULATOR as CloudflareEmulator
from providers.sandbox import EmulatorServer
from providers.scenarios import generate

ENV_PREFIXES = ("SLACK_", "CLOUDFLARE_", "REALTIMEKIT_", "VIDEOSDK_", "STREAM_")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No developer settings leak in: clear our variables and run where no .env exists."""
    ours = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name.upper() in ours:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cf(isolated, monkeypatch):
    calls = [generate(key) for key in ("healthy", "receive-loss", "no-stats")]
    emulator = CloudflareEmulator(calls)
    with EmulatorServer(emulator) as server:
        for name, value in emulator.settings_env(server.url).items():
            monkeypatch.setenv(name, value)
        yield emulator, {truth.key: truth for truth in calls}


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_receive_loss_is_poor_and_names_loss_on_receive(cf, capsys):
    emulator, truths = cf
    peer = truths["receive-loss"].uuid("peer")
    code, data = check_json(capsys, "cf", peer)
    assert code == 0
    assert data["provider"] == "cf"
    assert data["grade"] == "poor"
    top = data["findings"][0]
    assert top["metric"] == "loss_pct" and top["grade"] == "poor"
    assert "receive" in top["text"] and "loss" in top["text"]
    assert {"metric", "grade", "text"} <= set(top)
    # Exactly the documented request, then the same for the peer whose media was received
    # (its uplink was clean: the cause is this participant's downlink).
    req, sender = emulator.requests
    assert sender.path.endswith("/peer-report/" + truths["healthy"].uuid("peer"))
    assert data["findings"][0]["cause"] == (
        "this participant's downlink (Ada's uplink stayed clean then)"
    )
    account, app = (
        emulator.credentials()["CLOUDFLARE_ACCOUNT_ID"],
        emulator.credentials()["REALTIMEKIT_APP_ID"],
    )
    assert req.method == "GET"
    assert req.path == (
        f"/client/v4/accounts/{account}/realtime/kit/{app}/sessions/peer-report/{peer}"
    )
    assert (
        req.headers["authorization"] == "Bearer " + emulator.credentials()["CLOUDFLARE_API_TOKEN"]
    )


def test_healthy_is_good_and_no_stats_is_unknown(cf, capsys):
    _, truths = cf
    code, data = check_json(capsys, "cloudflare", truths["healthy"].uuid("peer"))
    assert (code, data["grade"]) == (0, "good")
    assert all(f["grade"] == "good" for f in data["findings"])
    code, data = check_json(capsys, "cf", truths["no-stats"].uuid("peer"))
    assert (code, data["grade"]) == (0, "unknown")
    assert "ip" not in data["network"]


def test_json_says_what_was_graded_and_whether_it_is_limited(cf, capsys, monkeypatch):
    _, truths = cf
    code, data = check_json(capsys, "cf", truths["healthy"].uuid("peer"))
    assert (code, data["grade"], data["limited"]) == (0, "good", False)
    sides = {(c["media"], c["direction"]) for c in data["coverage"] if c["metric"] == "loss_pct"}
    assert sides == {
        ("audio", "send"),
        ("audio", "receive"),
        ("video", "send"),
        ("video", "receive"),
    }
    # Stream shows only what was published: the same JSON keys say so.
    from providers.emulators.stream import StreamEmulator

    stream = StreamEmulator([generate("healthy")])
    with EmulatorServer(stream) as server:
        for name, value in stream.settings_env(server.url).items():
            monkeypatch.setenv(name, value)
        code, data = check_json(capsys, "stream", "default:healthy", "user-ada")
    assert (code, data["grade"], data["limited"]) == (0, "good", True)
    assert {c["direction"] for c in data["coverage"]} == {"send"}
    assert data["headline"].startswith("No problem in what Stream Video reports")


def test_text_output_and_chart_file(cf, capsys, isolated):
    _, truths = cf
    chart = isolated / "out" / "call.png"
    code = main(["check", "cf", truths["receive-loss"].uuid("peer"), "--chart", str(chart)])
    out = capsys.readouterr().out
    assert code == 0
    assert "POOR" in out and "Grace" in out
    assert "203.0.113" not in out  # the participant's IP is never printed
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600


@pytest.mark.parametrize("bad", ["not-a-uuid", "../x", "", "x" * 5000, "cf/../../etc"])
def test_bad_ids_exit_2_and_send_nothing(cf, capsys, bad):
    emulator, _ = cf
    code = main(["check", "cf", bad])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("callquality: ")
    assert "Traceback" not in err
    assert emulator.requests == []


def test_unknown_provider_suggests_and_lists_choices(isolated, capsys):
    code = main(["check", "cloudflair", "x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Did you mean 'cloudflare'?" in err
    assert "videosdk" in err and "stream" in err


def test_missing_credentials_name_the_variables(isolated, capsys):
    code = main(["check", "cf", "3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c"])
    err = capsys.readouterr().err
    assert code == 1
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "REALTIMEKIT_APP_ID"):
        assert name in err


def test_provider_error_is_one_line_without_secret(cf, capsys):
    emulator, truths = cf
    emulator.faults.append((401, {}, {"success": False, "errors": [{"code": 10000}]}))
    code = main(["check", "cf", truths["healthy"].uuid("peer")])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "CLOUDFLARE_API_TOKEN" in err
    assert emulator.credentials()["CLOUDFLARE_API_TOKEN"] not in err


def test_demo_end_to_end(isolated):
    """The console script as a user runs it: every sandbox call gets a verdict and a PNG."""
    out = isolated / "charts"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env={k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)},
    )
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(Path(out).glob("*.png"))
    verdict_lines = [
        line for line in proc.stdout.splitlines() if line.startswith(("🟢", "🟡", "🔴", "⚪", "☑️"))
    ]
    assert len(pngs) >= 6
    assert len(verdict_lines) >= len(pngs)
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "error:" not in proc.stdout
    assert "Traceback" not in proc.stderr
    # One proactive post: the signed sandbox webhook, verified, graded, ranked worst first.
    assert "POST /webhooks/cloudflare -> 200 accepted" in proc.stdout
    post = proc.stdout.split("[would post to ALERT_CHANNEL] ", 1)[1].splitlines()
    assert post[1].startswith("   🔴 Margaret · Poor: round-trip time")
    assert proc.stdout.count("[would post to ALERT_CHANNEL]") == 1


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **(env or {})},
    )


def test_check_against_the_sandbox_needs_no_account(isolated, capsys):
    code, data = check_json(capsys, "--sandbox", "cf", "79313258-2c82-5143-bce7-e58cc242dbcf")
    assert code == 0 and data["grade"] == "poor"
    assert data["findings"][0]["metric"] == "loss_pct"
    code = main(["check", "--sandbox", "stream", "default:healthy", "user-ada"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("☑️ NO PROBLEM SEEN  stream default:healthy user-ada")


def test_no_arguments_prints_help_and_help_is_quick(isolated):
    proc = run_cli()
    assert proc.returncode == 0 and proc.stdout.startswith("usage: callquality")
    assert "callquality check --sandbox cf" in proc.stdout
    # Heavy modules load only where they are needed: --help in well under 0.3 s.
    code = "import time; t=time.perf_counter(); import bot.cli; print(time.perf_counter()-t)"
    took = float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    )
    assert took < 0.15
    for heavy in ("pydantic", "httpx", "matplotlib", "slack_sdk"):
        probe = f"import sys, bot.cli; print({heavy!r} in sys.modules)"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert out.stdout.strip() == "False", heavy


def test_terminal_usage_has_no_slack_markup(isolated, capsys):
    assert main(["check", "help"]) == 0
    out = capsys.readouterr().out
    assert "callquality check cf <peer_id>" in out and "callquality check stream" in out
    assert "`" not in out and "*" not in out
    assert main(["check", "videosdk", "onlyone"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "callquality check videosdk <session_id> <participant_id>" in err
    assert "`" not in err and "*" not in err


def test_sandbox_command_prints_an_env_that_check_can_use(isolated):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
    )
    try:
        env, commands = {}, []
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                env[name] = value
            elif line.startswith("#   callquality check "):
                commands.append(line[len("#   callquality check ") :].split("    (")[0])
                if len(commands) == 3:
                    break
        assert {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_BASE_URL", "STREAM_BASE_URL"} <= set(env)
        result = run_cli("check", *commands[1].split(), "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["provider"] == "cf"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
