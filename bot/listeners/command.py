"""`/callquality <provider> <ids...>`: answer bad input and help in the ack itself; ack a
lookup at once and hand it to the job runner (nothing slow runs before `ack`)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import answers, commands, followups, render
from bot import messages as m
from bot.runtime import Runtime, request_id
from bot.threads import Where
from providers.errors import InputError

log = logging.getLogger("callquality.command")

COMMAND = "/callquality"


def register(app: App, runtime: Runtime) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        try:
            parsed = commands.parse(command.get("text") or "")
        except InputError as err:
            ack(text=render.input_error_text(err))
            return
        except Exception:
            rid = request_id()
            log.exception("command parse failed [%s]", rid)
            ack(text=m.APOLOGY.format(command=render.code(COMMAND), request_id=rid))
            return
        if isinstance(parsed, commands.Help):
            text = commands.usage(parsed.topic)
            if parsed.topic is None:
                text += "\n\n" + followups.help_text()
            ack(text=text)
            return
        ack(text=m.LOOKING_UP.format(command=render.code(parsed.command())))
        where = Where(channel=command["channel_id"], respond=respond, user=command.get("user_id"))
        answers.start(runtime, client, parsed, where, request_id())
