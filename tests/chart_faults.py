"""A chart worker's draw function that misbehaves on cue, for the chart pool's tests.

It runs in the worker process, so it is chosen by name: a subject (a report's participant, or
a plain string) named `CRASH` kills the worker, `HANG` blocks it until it is killed. Any other
string comes back as `<kind>:<subject>:<worker pid>`; a report is drawn for real.
"""

from __future__ import annotations

import os
import threading

from bot import chart_pool

CRASH = "Linus"  # the sandbox's cpu-limited call
HANG = "Margaret"  # the sandbox's turn-tcp call


def draw(kind: str, args: tuple, kwargs: dict) -> bytes:
    subject = args[0]
    name = subject if isinstance(subject, str) else subject.participant_name
    if name == CRASH:
        os._exit(70)  # as a segfault in a C extension would: no exception, no cleanup
    if name == HANG:
        threading.Event().wait()
    if isinstance(subject, str):
        return f"{kind}:{name}:{os.getpid()}".encode()
    return chart_pool.draw(kind, args, kwargs)
