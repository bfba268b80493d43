"""The provider seam: `Lookup` (what a command asks for), the `Provider` protocol, the
registry that resolves a command word to a provider, and the settings check.

The errors live in `providers.errors`, id validation in `providers.ids` and the shared HTTP
call in `providers.http`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

import httpx

from providers.errors import UnknownProviderError
from providers.models import Listing, Report

if TYPE_CHECKING:
    from providers.settings import BaseProviderSettings


@dataclass(frozen=True)
class Lookup:
    """A parsed, validated request for one provider. Pure data: no network has been touched.

    `kind` is "participant" (a Report comes back) or "session" (a Listing comes back); a
    provider may use other kinds of its own (e.g. Stream's short form, which may resolve to a
    Report or to a Listing of candidates).
    """

    provider: str
    kind: str
    ids: tuple[tuple[str, str], ...]
    window: tuple[datetime | None, datetime | None] | None = None
    window_text: str | None = None  # as the user wrote it, e.g. "last 10m"
    args: tuple[str, ...] = field(default=())  # the words after the provider word

    @property
    def id_map(self) -> dict[str, str]:
        return dict(self.ids)

    def command(self) -> str:
        """The command words that repeat this lookup (`cf <peer_id>`)."""
        return " ".join((self.provider, *self.args))


class Provider(Protocol):
    """One video platform. Implementations live in `providers/<name>.py`.

    Class attributes declare what the registry and the help text need; `parse` is pure and
    validates everything before any request; `fetch` does the HTTP work through the injected
    `httpx.Client` and returns the normalized report (or a listing).
    """

    name: ClassVar[str]  # registry key and command word
    label: ClassVar[str]  # "Cloudflare RealtimeKit"
    aliases: ClassVar[tuple[str, ...]]
    settings_needed: ClassVar[tuple[str, ...]]  # env var names of the credentials
    settings_class: ClassVar[type[BaseProviderSettings]]  # the variables it reads
    usage: ClassVar[tuple[str, ...]]  # command forms, e.g. "cf <peer_id>"
    example: ClassVar[str]  # one example command

    @classmethod
    def parse(cls, args: list[str]) -> Lookup: ...

    @classmethod
    def from_settings(
        cls, settings: BaseProviderSettings, transport: httpx.BaseTransport | None = None
    ) -> Provider: ...

    def fetch(self, lookup: Lookup) -> Report | Listing: ...

    def close(self) -> None: ...


_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: add a provider to the registry under its name."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin() -> None:
    # Imported for their @register side effect; done lazily so `providers.base` stays a leaf.
    import providers.cloudflare  # noqa: F401

    for mod in ("providers.videosdk", "providers.stream"):
        try:
            __import__(mod)
        except ModuleNotFoundError as exc:  # pragma: no cover - while a provider is absent
            if exc.name != mod:
                raise


_BUILTINS_LOADED = False


def all_providers() -> dict[str, type[Provider]]:
    # A flag, not "registry empty": importing one provider module directly (a test, a tool)
    # registers it alone, and the others must still be loaded here.
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _load_builtin()
        _BUILTINS_LOADED = True
    return dict(_REGISTRY)


def provider_words() -> dict[str, str]:
    """Every accepted command word (names and aliases) -> registry name."""
    words: dict[str, str] = {}
    for name, cls in all_providers().items():
        words[name] = name
        for alias in cls.aliases:
            words[alias] = name
    return words


def provider_label(name: str) -> str:
    """The provider's name for people ("Cloudflare RealtimeKit"); `name` itself when unknown."""
    cls = all_providers().get(name)
    return cls.label if cls is not None else name


def get_provider_class(word: str) -> type[Provider]:
    """Resolve a command word; raise UnknownProviderError naming the valid choices."""
    words = provider_words()
    key = word.strip().lower()
    if key in words:
        return all_providers()[words[key]]
    close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.5)
    choices = [
        f"{n} ({', '.join(c.aliases)})" if c.aliases else n for n, c in all_providers().items()
    ]
    raise UnknownProviderError(word, choices, close[0] if close else None)


def missing_settings(settings: BaseProviderSettings, names: tuple[str, ...]) -> list[str]:
    """The env var names among `names` whose setting is empty."""
    out = []
    for name in names:
        value = getattr(settings, name.lower(), None)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if not value:
            out.append(name)
    return out
