"""Follow-up questions in a bot thread: `video`, `network`, `chart loss`, `last 10m`,
`compare <ids>`, ... `parse` is pure and decides whether a message is a follow-up at all
(anything else is chatter and is ignored); `answer` runs one on the job runner."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk import WebClient

from bot import answers, blocks, render
from bot import messages as m
from bot.commands import parse as parse_command
from bot.jobs import Job
from bot.runtime import Runtime, ThreadContext
from bot.threads import Where, post, tell_privately, upload
from charts import panels  # the chart words only: no matplotlib at import
from providers.base import Lookup, provider_label, provider_words
from providers.errors import InputError
from providers.models import Listing, Media, Report

SIMPLE = ("audio", "video", "network", "device", "events", "raw", "refresh", "help", "glossary")
ALIASES = {
    "net": "network",
    "devices": "device",
    "event": "events",
    "json": "raw",
    "?": "help",
    "terms": "glossary",
    "meaning": "glossary",
}
WINDOW_WORDS = ("last", "since")  # how a provider's command spells a window
QUESTION = re.compile(r"^(what|whats|what's|define|explain|meaning)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FollowUp:
    kind: str  # one of SIMPLE, or "chart", "window", "compare"
    words: tuple[str, ...] = ()


def join_words(provider: str, args: Iterable[str]) -> str:
    return " ".join([provider, *(shlex.quote(a) for a in args)])


def parse(text: str) -> FollowUp | None:
    """A follow-up, or None for anything else (chatter is answered with silence)."""
    words = render.unslack(text).split()
    if not words or len(words) > 12:
        return None
    head = words[0].lower().rstrip("?!.,")
    head = ALIASES.get(head, head)
    rest = tuple(words[1:])
    if head in SIMPLE and not rest:
        return FollowUp(head)
    if head == "chart" and len(rest) <= 1:
        return FollowUp("chart", rest)
    if head == "last" and len(rest) == 1:
        return FollowUp("window", ("last", *rest))
    if head == "window" and rest:
        if len(rest) == 2 and rest[0].lower() not in WINDOW_WORDS:
            rest = ("since", rest[0], "until", rest[1])  # `window <from> <to>`
        return FollowUp("window", rest)
    if head == "compare" and rest:
        return FollowUp("compare", rest)
    return _question(words)


def _question(words: list[str]) -> FollowUp | None:
    """ "what is MOS?", "what does TURN mean": the glossary entries it names, if any."""
    if not QUESTION.match(words[0]):
        return None
    terms = [m.GLOSSARY_WORDS.get(w.lower().strip("?!.,()")) for w in words[1:]]
    found = tuple(dict.fromkeys(t for t in terms if t))
    return FollowUp("glossary", found) if found else None


def answer(
    runtime: Runtime,
    client: WebClient,
    ctx: ThreadContext,
    followup: FollowUp,
    where: Where,
    request_id: str,
    job: Job,
) -> None:
    """Answer one follow-up in the thread `where` (whose root carries `ctx`). Runs inside a
    job: slow lookups happen here, and `job.claim()` comes before anything is posted."""
    if followup.kind in ("help", "glossary", "unknown"):
        if job.claim():
            _say(client, where, _words_answer(followup))
        return
    base = answers.context_lookup(ctx)
    if followup.kind == "window":
        lookup = _windowed(ctx, followup.words)
        if isinstance(lookup, str):
            if job.claim():
                _say(client, where, lookup)
            return
        answers.update_card(runtime, client, ctx, lookup, where, request_id, job, refresh=False)
        return
    if followup.kind == "refresh":
        answers.update_card(runtime, client, ctx, base, where, request_id, job, refresh=True)
        return
    if followup.kind == "compare":
        try:
            other = _compared(ctx, followup.words)
        except InputError as err:
            other = render.input_error_text(err)
        if isinstance(other, str):
            if job.claim():
                _say(client, where, other)
            return
        first = runtime.lookup(base)
        second = runtime.lookup(other)
        if job.claim():
            _post_compare(runtime, client, where, first, second, request_id)
        return
    outcome = runtime.lookup(base)
    if job.claim():
        _post_detail(runtime, client, where, outcome, followup, request_id)


def _say(client: WebClient, where: Where, text: str) -> None:
    post(client, where.channel, text, thread_ts=where.thread_ts)


def help_text() -> str:
    """Every follow-up word and button, for `help` in a thread and `/callquality help`."""
    return m.FOLLOWUP_HELP.format(metrics=_chart_choices())


_help = help_text


def _words_answer(followup: FollowUp) -> str:
    if followup.kind == "help":
        return _help()
    if followup.kind == "unknown":
        said = render.code(blocks.shorten(" ".join(followup.words), 60))
        return m.NOT_UNDERSTOOD.format(text=said)
    terms = followup.words or tuple(m.GLOSSARY)
    return "\n".join([m.GLOSSARY_TITLE, *(m.GLOSSARY[t] for t in terms if t in m.GLOSSARY)])


def _chart_choices() -> str:
    return ", ".join(f"`{word}`" for word in panels.focus_choices())


def _chart_focus(word: str) -> str | None:
    return panels.focus_key(word)


def _thread_args(ctx: ThreadContext) -> list[str]:
    """The words of the thread's lookup without its window."""
    args = list(ctx.args)
    if ctx.window:
        old = ctx.window.split()
        if args[-len(old) :] == old:
            args = args[: -len(old)]
    return args


def _parse_lookup(provider: str, args: Iterable[str]) -> Lookup | None:
    parsed = parse_command(join_words(provider, args))
    return parsed if isinstance(parsed, Lookup) else None


def _windowed(ctx: ThreadContext, words: tuple[str, ...]) -> Lookup | str:
    """The thread's lookup over another window, or the sentence that says why not."""
    args = _thread_args(ctx)
    # Whether the provider takes a window at all: the thread's own words with a good one.
    try:
        probe = _parse_lookup(ctx.provider, [*args, "last", "10m"])
    except InputError:
        probe = None
    if probe is None or probe.window_text is None:
        return m.WINDOW_UNSUPPORTED.format(label=provider_label(ctx.provider))
    if not words or words[0].lower() not in WINDOW_WORDS:
        return m.WINDOW_REJECTED.format(message=m.WINDOW_HOWTO)
    try:
        parsed = _parse_lookup(ctx.provider, [*args, *words])
    except InputError as err:
        return m.WINDOW_REJECTED.format(message=render.escape(str(err)))
    if parsed is None or parsed.window_text is None:
        return m.WINDOW_REJECTED.format(message=m.WINDOW_HOWTO)
    return parsed


def _compared(ctx: ThreadContext, words: tuple[str, ...]) -> Lookup | str:
    """The other participant: a full lookup of the thread's provider, or ids within the
    thread's call (the thread's leading ids are put in front: `compare user-b` in a Stream
    thread, `compare <participant_id>` in a VideoSDK one)."""
    words_l = list(words)
    known = provider_words()
    if words_l and words_l[0].lower() in known:
        if known[words_l[0].lower()] != ctx.provider:
            return m.COMPARE_OTHER_PROVIDER.format(label=provider_label(ctx.provider))
        words_l = words_l[1:]
    try:
        parsed = _parse_lookup(ctx.provider, words_l)
    except InputError as err:
        first_error = err
    else:
        return parsed if parsed is not None else _help()
    args = _thread_args(ctx)
    errors: list[InputError] = []
    for cut in range(1, len(args)):
        try:
            parsed = _parse_lookup(ctx.provider, [*args[:cut], *words_l])
        except InputError as err:
            errors.append(err)
            continue
        if parsed is not None and parsed.kind != "session":
            return parsed
    # Fewer words than the thread's own ids: they were meant within the thread's call.
    if errors and len(words_l) < len(args):
        raise errors[0]
    raise first_error


def _post_detail(
    runtime: Runtime, client: WebClient, where: Where, outcome, followup: FollowUp, request_id: str
) -> None:
    root = where.thread_ts
    assert root is not None
    if isinstance(outcome.result, Listing):
        return _say(client, where, m.NO_REPORT_IN_THREAD)
    report, verdict = outcome.result, outcome.verdict
    assert isinstance(report, Report) and verdict is not None
    kind = followup.kind
    if kind in ("audio", "video"):
        media = Media(kind)
        text = render.media_text(report, verdict, media)
        return _say(client, where, text or m.NO_SUCH_MEDIA.format(media=kind))
    if kind == "network":
        show = runtime.settings.show_location
        _say(client, where, render.network_text(report, show))
        private = None if show else render.private_network_text(report)
        if private:
            tell_privately(client, where, private)
        return
    if kind == "device":
        return _say(client, where, render.device_text(report))
    if kind == "events":
        return _say(client, where, m.EVENTS + "\n" + render.events_text(report))
    if kind == "raw":
        ok = upload(
            client,
            where.channel,
            root,
            render.raw_json(report, runtime.settings.show_location),
            filename=answers.file_stem(outcome.lookup) + ".json",
            title=m.RAW_TITLE,
        )
        if not ok:
            _say(client, where, m.UPLOAD_FAILED)
        return
    if kind == "chart":
        focus = None
        if followup.words:
            word = followup.words[0]
            focus = _chart_focus(word)
            if focus is None:
                return _say(
                    client,
                    where,
                    m.UNKNOWN_METRIC.format(word=render.escape(word), metrics=_chart_choices()),
                )
        suffix = f"-{focus}" if focus is not None else ""
        answers.post_chart(
            runtime, client, where.channel, root, outcome, request_id, focus=focus, suffix=suffix
        )


def _post_compare(runtime: Runtime, client, where: Where, first, second, request_id: str) -> None:
    root = where.thread_ts
    assert root is not None
    if not isinstance(first.result, Report) or not isinstance(second.result, Report):
        return _say(client, where, m.NO_REPORT_IN_THREAD)
    a = (first.result, first.verdict)
    b = (second.result, second.verdict)
    _say(client, where, render.compare_text(a, b))
    try:
        png = runtime.compare_chart(first, second)
    except Exception:
        answers.log.exception("compare chart failed [%s]", request_id)
        return _say(client, where, m.CHART_FAILED.format(request_id=request_id))
    names = (render.who(a[0]), render.who(b[0]))
    alt = m.COMPARE_CHART_ALT.format(
        a=names[0], b=names[1], head_a=a[1].headline, head_b=b[1].headline
    )
    ok = upload(
        client,
        where.channel,
        root,
        png,
        filename=f"{answers.file_stem(first.lookup)}-vs-{answers.safe_id(second.lookup)}.png",
        title=m.COMPARE_CHART_TITLE.format(a=names[0], b=names[1]),
        alt_txt=alt,
    )
    if not ok:
        _say(client, where, m.UPLOAD_FAILED)
