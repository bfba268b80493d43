"""Listener registration: one small module per Slack surface, wired explicitly."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, command, mention, once, replies
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    once.register(app, runtime)  # first: a repeated delivery reaches no listener
    command.register(app, runtime)
    mention.register(app, runtime)
    actions.register(app, runtime)
    replies.register(app, runtime)  # last: it ends with the catch-all for other subtypes
