"""Ids that would change the URL, windows at the edges of the calendar, and providers that
answer about someone other than the one asked for: refused clearly, in Slack and the CLI."""

from __future__ import annotations

import pytest

from bot.cli import main
from providers.base import get_provider_class
from providers.errors import InputError
from providers.ids import check_id, check_uuid, segment
from tests.conftest import RunningBot, peer

UUID = "3f1c2b4a-1d2e-4f5a-9b8c-7d6e5f4a3b2c"

BAD_WORDS = [
    ["videosdk", ".", "p1"],
    ["videosdk", "s1", ".."],
    ["videosdk", "s1\n", "p1"],
    ["videosdk", "s1", "p1\n"],
    ["cf", UUID + "\n"],
    ["cf", "session", UUID + "\n"],
    ["stream", "default:.", "user-1"],
    ["stream", "default:abc", "..."],
    ["stream", "default:abc", "user-1\n"],
]


@pytest.mark.parametrize("words", BAD_WORDS, ids=repr)
def test_dot_and_newline_ids_are_refused_before_any_request(words):
    with pytest.raises(InputError):
        get_provider_class(words[0]).parse(words[1:])


def test_checks_use_the_whole_value():
    for value in (".", "..", "...", "x\n", "x\r\n"):
        with pytest.raises(InputError):
            check_id("id", value)
    with pytest.raises(InputError):
        check_uuid("peer id", UUID + "\n")
    assert check_id("id", "a.b") == "a.b"


def test_every_path_segment_is_encoded():
    assert segment(".") == "%2E" and segment("..") == "%2E%2E"
    assert segment("a.b") == "a.b" and segment("a/b?c#d") == "a%2Fb%3Fc%23d"


@pytest.mark.parametrize("words", BAD_WORDS[:3] + BAD_WORDS[6:7], ids=repr)
def test_cli_refuses_them_with_exit_2(sandbox, monkeypatch, capsys, words):
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    assert main(["check", *words]) == 2
    assert capsys.readouterr().err.startswith("callquality: ")
    assert all(not s.requests for s in sandbox.servers.values())


EDGE_WINDOWS = [
    "last 99999999999999999999m",
    "last 99999999999999999999999999999999999999h",
    "since 0001-01-01T00:00:00+14:00 until 0001-01-01T01:00:00+14:00",
    "since 9999-12-31T23:00:00-14:00 until 9999-12-31T23:30:00-14:00",
    "since 9999-12-31T23:00:00Z until 9999-12-31T23:59:59.999999Z",
    "since 0001-01-01T00:00:00Z until 0001-01-01T00:30:00Z",
]


@pytest.mark.parametrize("window", EDGE_WINDOWS)
def test_windows_at_the_edges_are_bad_input_in_the_cli(sandbox, monkeypatch, capsys, window):
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    assert main(["check", "stream", "default:healthy", "user-ada", *window.split()]) == 2
    err = capsys.readouterr().err
    assert err.startswith("callquality: ") and "Traceback" not in err
    assert all(not s.requests for s in sandbox.servers.values())


def test_windows_at_the_edges_get_a_clear_reply_in_slack(bot: RunningBot, sandbox):
    for window in EDGE_WINDOWS:
        resp = bot.command(f"stream default:healthy user-ada {window}")
        assert resp.status_code == 200
        assert resp.text.startswith(":warning: ") and "Sorry" not in resp.text, resp.text
    dot = bot.command("videosdk . p1")
    assert "nor be only dots" in dot.text
    assert all(not s.requests for s in sandbox.servers.values())


def _swap(sandbox, provider: str) -> tuple[list[str], str, str]:
    """Words for one participant, and a path rewrite that answers about another one."""
    if provider == "cf":
        words, other = peer(sandbox, "healthy"), peer(sandbox, "receive-loss")
        return words, words[1], other[1]
    if provider == "videosdk":
        words, other = peer(sandbox, "healthy", "videosdk"), peer(sandbox, "turn-tcp", "videosdk")
        return words, f"{words[1]}/participant/{words[2]}", f"{other[1]}/participant/{other[2]}"
    truth = next(t for w, t in sandbox.lookups() if w[0] == "stream" and len(w) == 5)
    words = next(w for w, t in sandbox.lookups() if w[0] == "stream" and len(w) == 5)
    host = truth.uuid("stream-host-session")
    return words, f"/participant/{words[3]}/{words[4]}", f"/participant/user-host/{host}"


@pytest.mark.parametrize("provider", ["cf", "videosdk", "stream"])
def test_an_answer_about_someone_else_is_refused(bot: RunningBot, sandbox, slack, provider):
    words, asked, other = _swap(sandbox, provider)
    sandbox.servers[provider].emulator.rewrites[asked] = other
    bot.command(" ".join(words))
    reply = slack.wait_for(lambda: slack.responses, timeout=10)[0]
    assert "answered about another" in reply["text"], reply["text"]
    assert not slack.posts()


def test_cli_chart_to_an_unwritable_path_still_prints_the_verdict(
    sandbox, monkeypatch, capsys, tmp_path
):
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    code = main(["check", *peer(sandbox, "receive-loss"), "--chart", str(blocker / "c.png")])
    out, err = capsys.readouterr()
    assert code == 3
    assert "POOR" in out  # the verdict still printed
    assert err.startswith("callquality: could not write the chart to ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
