"""The `callquality` console script: demo | check | sandbox | serve. Thin: parsing and printing
only. Heavy modules (pydantic models, httpx, matplotlib) are imported by the command that needs
them, so `callquality` and `--help` answer at once."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_PROVIDER = 1
EXIT_CHART = 3  # the verdict was printed; the chart file could not be written
EPILOG = """examples:
  callquality demo                                  sandbox calls, verdicts and charts
  callquality check --sandbox cf 79313258-2c82-5143-bce7-e58cc242dbcf
  callquality check cf <peer_id> --chart call.png   with CLOUDFLARE_* set
  callquality check help                            every provider's command forms
  callquality sandbox                               keep the sandbox running, print its env
  callquality serve                                 the Slack bot (SLACK_* settings)
"""


def _plain(text: str) -> str:
    """A message as the terminal shows it: Slack's code quotes become plain quotes."""
    return text.replace("`", "'").replace("*", "")


def _chart(outcome, path: Path) -> str | None:
    from charts.timeseries import render

    if outcome.report is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(outcome.report, outcome.verdict))
    return str(path)


def _usage_for(word: str) -> str | None:
    from bot.commands import usage
    from providers.base import get_provider_class
    from providers.errors import InputError

    try:
        return usage(get_provider_class(word).name, terminal=True)
    except InputError:
        return None


def cmd_check(args: argparse.Namespace) -> int:
    from bot import console
    from bot.commands import Help, parse_words, usage
    from bot.config import Settings
    from bot.lookup import run
    from providers.errors import CallQualityError, InputError

    try:
        parsed = parse_words([args.provider, *args.ids])
        if isinstance(parsed, Help):
            print(usage(parsed.topic, terminal=True))
            return 0
        box = _sandbox() if args.sandbox else nullcontext(None)
        with box as sandbox:
            settings = sandbox.settings(Settings) if sandbox is not None else Settings()
            outcome = run(parsed, settings)
    except InputError as exc:
        print(f"callquality: {_plain(str(exc))}", file=sys.stderr)
        shown = _usage_for(args.provider) if exc.usage else None
        if shown:
            print(shown, file=sys.stderr)
        return EXIT_BAD_INPUT
    except CallQualityError as exc:
        print(f"callquality: {_plain(str(exc))}", file=sys.stderr)
        return EXIT_PROVIDER
    chart = chart_error = None
    if args.chart:
        try:
            chart = _chart(outcome, Path(args.chart))
        except OSError as exc:
            chart_error = f"could not write the chart to {args.chart}: {exc.strerror or exc}"
    if args.json:
        data = console.as_json(outcome)
        if chart:
            data["chart"] = chart
        print(json.dumps(data, indent=2))
    else:
        print(console.text(outcome, chart))
    if chart_error:
        print(f"callquality: {chart_error}", file=sys.stderr)
        return EXIT_CHART
    return 0


def _sandbox():
    from providers.sandbox import Sandbox

    return Sandbox()


def cmd_demo(args: argparse.Namespace) -> int:
    from bot import console
    from bot.commands import parse_words
    from bot.config import Settings
    from bot.lookup import run
    from providers.base import Lookup
    from providers.errors import CallQualityError

    out = Path(args.out)
    print("callquality demo: sandbox emulators of the provider APIs on 127.0.0.1, real clients.\n")
    tried: list[str] = []
    with _sandbox() as sandbox:
        settings = sandbox.settings(Settings)
        for number, (words, truth) in enumerate(sandbox.lookups(), start=1):
            parsed = parse_words(words)
            assert isinstance(parsed, Lookup)
            print(f"[{truth.title}]")
            try:
                outcome = run(parsed, settings)
            except CallQualityError as exc:
                print(f"   error: {_plain(str(exc))}\n")
                continue
            name = f"{number:02d}-{parsed.provider}-{truth.key}.png"
            print(console.text(outcome, _chart(outcome, out / name)) + "\n")
            if truth.key == "receive-loss":
                tried.append(" ".join(words))
        _demo_webhook(sandbox, settings)
    print(f"Charts written to {out.resolve()}\n")
    print("Try one yourself, with no account:")
    for words in tried:
        print(f"   callquality check --sandbox {words}")
    return 0


def _demo_webhook(sandbox, settings) -> None:
    """One proactive post: a signed "meeting ended" delivery from the sandbox, verified,
    graded and ranked as `serve` would, printed instead of posted."""
    import tempfile

    from bot import webhooks
    from bot.runtime import Runtime
    from bot.webhooks.post import ConsoleAlerts

    # The demo leaves nothing behind: its store (claims, cached results) is a temporary one.
    scratch = tempfile.TemporaryDirectory(prefix="callquality-demo-")
    settings = settings.model_copy(
        update={
            "webhook_delay_s": 0.0,
            "webhook_retries": 0,
            "callquality_data_dir": Path(scratch.name),
            "redis_url": None,
        }
    )
    runtime = Runtime(settings)
    hooks = webhooks.build(settings, runtime, None, publisher=ConsoleAlerts())  # type: ignore[arg-type]
    assert hooks is not None
    print("[A call ended: Cloudflare RealtimeKit sends a signed meeting.ended webhook]")
    try:
        status, answer = hooks.handle_webhook(*sandbox.webhook("cf"))
        print(f"   POST /webhooks/cloudflare -> {status} {answer}")
        hooks.idle(timeout=settings.lookup_timeout_s)
    finally:
        hooks.close()
        runtime.close()
        scratch.cleanup()
    print()


GLIBC_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h
SERVE_ARENAS = 2


def _fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas before the server starts its threads.

    glibc gives threads that contend for malloc arenas of their own (up to 8 per CPU), and
    each keeps the memory freed into it. With dozens of request, listener and lookup threads
    the server's RSS crept up lookup after lookup (measured: 8 MB per 100 lookups with the
    caches already full); with two arenas it stays flat. MALLOC_ARENA_MAX, when set, wins;
    elsewhere than glibc this does nothing.
    """
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(GLIBC_M_ARENA_MAX, SERVE_ARENAS)
    except (OSError, AttributeError):  # not glibc (musl, ...)
        pass


def cmd_sandbox(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Run the sandbox until interrupted (or `stop` is set), after printing its settings."""
    with _sandbox() as sandbox:
        print("# The sandbox is running. Paste these lines in another shell, then run")
        print("# `callquality check <provider> <ids>` (or `callquality serve`). Ctrl-C stops it.")
        for name, value in sorted(sandbox.env().items()):
            print(f"export {name}={value}")
        print("# Calls it serves:")
        for words, truth in sandbox.lookups():
            print(f"#   callquality check {' '.join(words)}    ({truth.title})")
        sys.stdout.flush()
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.config import Settings
    from bot.server import serve

    _fewer_malloc_arenas()
    serve(Settings(), port=args.port, sandbox=args.sandbox)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callquality",
        description="Call-quality verdicts and charts for RealtimeKit, Stream and VideoSDK.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{demo,check,sandbox,serve}")
    demo = sub.add_parser("demo", help="run lookups against the built-in sandbox (no accounts)")
    demo.add_argument("--out", default="callquality-demo", help="folder for the chart PNGs")
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser(
        "check",
        help="look up one participant from the terminal",
        epilog="`callquality check help` lists every provider's forms.",
    )
    check.add_argument("provider", help="cf (cloudflare), videosdk (vs) or stream")
    check.add_argument("ids", nargs="*", help="the ids, as in the slash command")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--chart", metavar="FILE", help="write the chart PNG to FILE")
    check.add_argument(
        "--sandbox", action="store_true", help="ask the built-in sandbox (no account needed)"
    )
    check.set_defaults(func=cmd_check)
    box = sub.add_parser("sandbox", help="run the sandbox and print the settings that reach it")
    box.set_defaults(func=cmd_sandbox)
    serve = sub.add_parser("serve", help="run the Slack bot")
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP port (default 3000); in Socket Mode, opens it for the provider webhooks",
    )
    serve.add_argument("--sandbox", action="store_true", help="answer from the sandbox")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "serve":  # a service: say what it is doing
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    else:  # a terminal command: its output is the answer, logs only when something is wrong
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
