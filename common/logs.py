"""How every process logs: plain text for a terminal, or one JSON object per line for a log collector.

`setup_logging(settings.log_format, replica=...)` replaces each entry point's `logging.basicConfig`. In JSON the
message and the exception text pass through `common.text.mask_pii`: a resident's CCCD, phone number or OTP that
reached a log line (a warning quoting a message, a traceback holding a request) is masked before it leaves the
process. Text mode masks too, so switching formats never changes what is written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Literal

from common.text import mask_pii

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers servers configure with handlers of their own: in JSON their lines must go through ours instead.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sanic.root", "sanic.error", "sanic.access",
                  "aiohttp.access")


def _message(record: logging.LogRecord) -> str:
    """The record's formatted message; a record whose arguments do not fit its format still logs something."""
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - a bad log call must not hide the event
        return f"{record.msg!r} {record.args!r}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process, replica and exception, PII masked."""

    def __init__(self, replica: str = "") -> None:
        super().__init__()
        self.replica = replica

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_pii(_message(record)),
            "process": record.process,
            "replica": self.replica,
        }
        if record.exc_info:
            entry["exception"] = mask_pii(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = mask_pii(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask_pii(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """The plain text format, with personal data masked like the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def formatter(log_format: LogFormat, replica: str = "") -> logging.Formatter:
    """The formatter for a LOG_FORMAT value."""
    return JsonFormatter(replica) if log_format == "json" else MaskingFormatter(TEXT_FORMAT)


def setup_logging(log_format: LogFormat = "text", *, replica: str = "", level: int = logging.INFO) -> None:
    """Send every log line to stderr in one format (JSON or text), PII masked; replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, replica or os.uname().nodename))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in SERVER_LOGGERS:
        # their own handlers would print a second, unmasked, non-JSON copy
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
