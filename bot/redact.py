"""Keep secrets out of logs: a `logging.Filter` that rewrites records before any handler
formats them. It replaces every configured secret value and anything shaped like a Slack
token, a bearer header or a JWT (`providers.errors.mask`), in the message, its arguments and
the formatted traceback; and it escapes line breaks in the message, so that text from a
request or a provider cannot forge log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from providers.errors import mask


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        return mask(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template
            message = str(record.msg)
        record.msg, record.args = one_line(self.redact(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def install(
    secrets: Iterable[str], handlers: Iterable[logging.Handler] | None = None
) -> SecretFilter:
    """Attach one SecretFilter to `handlers` (default: the root logger's handlers)."""
    flt = SecretFilter(secrets)
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        handler.addFilter(flt)
    return flt
