"""parse(text) -> Lookup | Help. Pure: validates everything, sends nothing.

`/callquality cf <peer_id>`, `@callquality videosdk <session_id> <participant_id>` and
`callquality check stream default:abc user-1` all come through here, so every surface gives
the same answer to the same words.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from providers.base import Lookup, all_providers, get_provider_class
from providers.errors import InputError

MAX_COMMAND_LEN = 1000


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a provider name, or None for the whole usage


def usage(provider: str | None = None, *, terminal: bool = False) -> str:
    """Usage lines, one example per provider (or just the named provider's forms): Slack
    mrkdwn, or for the terminal plain text whose examples are `callquality check` commands."""
    providers = all_providers()
    if terminal:
        return _terminal_usage(providers, provider)
    if provider is not None:
        cls = providers[provider]
        aliases = f" (alias {', '.join(cls.aliases)})" if cls.aliases else ""
        lines = [f"*{cls.label}*{aliases}:"] + [f"• `{form}`" for form in cls.usage]
        return "\n".join(lines + [f"Example: `{cls.example}`"])
    lines = ["Usage: `<provider> <ids...>`. Providers and their forms:"]
    for cls in providers.values():
        aliases = f" (alias `{'`, `'.join(cls.aliases)}`)" if cls.aliases else ""
        lines.append(
            f"• *{cls.label}* `{cls.name}`{aliases}: " + ", ".join(f"`{u}`" for u in cls.usage)
        )
        lines.append(f"   e.g. `{cls.example}`")
    return "\n".join(lines)


def _terminal_usage(providers: dict, provider: str | None) -> str:
    chosen = [providers[provider]] if provider is not None else list(providers.values())
    lines = [] if provider is not None else ["usage: callquality check <provider> <ids...>"]
    for cls in chosen:
        aliases = f" (alias {', '.join(cls.aliases)})" if cls.aliases else ""
        lines.append(f"{cls.label}: {cls.name}{aliases}")
        lines.extend(f"    callquality check {form}" for form in cls.usage)
        lines.append(f"  e.g. callquality check {cls.example}")
    return "\n".join(lines)


def split(text: str) -> list[str]:
    if len(text) > MAX_COMMAND_LEN:
        raise InputError(
            f"That command is {len(text)} characters long; a lookup is a provider and a few ids."
        )
    try:
        return shlex.split(text.replace("\u201c", '"').replace("\u201d", '"'))
    except ValueError as exc:
        raise InputError(f"Could not read that command ({exc}).") from None


def parse(text: str) -> Lookup | Help:
    return parse_words(split(text or ""))


def parse_words(words: list[str]) -> Lookup | Help:
    """As `parse`, for words already split (the CLI's argv)."""
    if sum(len(w) for w in words) > MAX_COMMAND_LEN:
        raise InputError("That command is too long; a lookup is a provider and a few ids.")
    if not words or words[0].lower() in ("help", "-h", "--help", "?", "usage"):
        topic = None
        if len(words) > 1:
            topic = get_provider_class(words[1]).name
        return Help(topic)
    cls = get_provider_class(words[0])
    if len(words) > 1 and words[1].lower() in ("help", "--help", "-h"):
        return Help(cls.name)
    try:
        return cls.parse(words[1:])
    except InputError as exc:
        if exc.usage is None:
            exc.usage = usage(cls.name)
        raise
