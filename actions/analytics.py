"""The analytics log: one Redis Stream entry per answer, clarifying question, out-of-scope reply and walkthrough event.

The staff dashboard (dashboard/) reads it for conversation counts, knowledge gaps (questions that fell to a clarifying
question or out of scope) and the walkthrough funnel. Like the feedback log it keeps a pseudonymous resident id,
never the channel's user id, and questions are PII-masked before they are stored. Writing never fails a reply: a
Redis error is logged and the conversation goes on.

Fields of every entry: kind (turn | answer | clarify | out_of_scope | no_guide | sensitive | walkthrough), at (epoch seconds), channel,
commune, resident; answer adds guide_id; clarify, out_of_scope, no_guide and sensitive add question and candidates (JSON list of guide
ids); walkthrough adds event (started | step | stuck | finished | abandoned), guide_id, step, total, duration_s and
started_at (which, with the resident, identifies one walkthrough run).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actions.feedback_store import MemoryRedis, pseudonym, pseudonym_key
from actions.text import mask_pii, truncate

if TYPE_CHECKING:  # annotations only: the dashboard imports this module without rasa_sdk installed
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)

STREAM = "analytics:v1"
MAXLEN = 1_000_000  # approximate trim: ~2 years of a busy commune; the dashboard reads months, not years
KINDS = ("turn", "answer", "clarify", "out_of_scope", "no_guide", "sensitive", "walkthrough", "procedure")
WALKTHROUGH_EVENTS = ("started", "step", "stuck", "finished", "abandoned")
MAX_QUESTION_CHARS = 300


class AnalyticsLog:
    """Append analytics entries to a Redis Stream (or the in-memory stand-in); never raises into the caller."""

    def __init__(self, redis: Any, maxlen: int = MAXLEN) -> None:
        self.redis = redis
        self.maxlen = maxlen

    def record(self, kind: str, *, channel: str, commune: str, resident: str, at: float | None = None,
               **extra: Any) -> str | None:
        """Append one entry; return its stream id, or None when it could not be written (logged)."""
        if kind not in KINDS:
            logger.error("Unknown analytics kind %r: not recorded", kind)
            return None
        fields = {"kind": kind, "at": f"{at or time.time():.3f}", "channel": channel, "commune": commune,
                  "resident": resident}
        for key, value in extra.items():
            if value is None:
                continue
            fields[key] = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
        try:
            if isinstance(self.redis, MemoryRedis):
                entry_id = self.redis.xadd(STREAM, fields)
            else:
                entry_id = self.redis.xadd(STREAM, fields, maxlen=self.maxlen, approximate=True)
        except Exception:  # noqa: BLE001 - analytics must never break a reply to a resident
            logger.exception("Could not write an analytics entry (%s)", kind)
            return None
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


_log: AnalyticsLog | None = None


def get_analytics() -> AnalyticsLog:
    """The process-wide log: Redis at REDIS_URL, or in memory when it is unset (terminal chat)."""
    global _log
    if _log is None:
        import os

        url = os.environ.get("REDIS_URL")
        if url:
            import redis

            _log = AnalyticsLog(redis.Redis.from_url(url, decode_responses=True))
        else:
            _log = AnalyticsLog(MemoryRedis())
    return _log


def _question(tracker: Tracker) -> str:
    """The resident's last message, masked and shortened for storage."""
    from actions.knowledge import resident_text  # knowledge imports this module

    return truncate(mask_pii(resident_text(tracker).strip()), MAX_QUESTION_CHARS)


def _context(tracker: Tracker) -> dict[str, str]:
    """Channel, commune and pseudonymous resident of a conversation."""
    from actions.settings import get_settings

    return {"channel": tracker.get_latest_input_channel() or "rest", "commune": get_settings().commune_id,
            "resident": pseudonym(tracker.sender_id, pseudonym_key())}


def _write(context: dict[str, str], kind: str, extra: dict[str, Any]) -> None:
    get_analytics().record(kind, channel=context["channel"], commune=context["commune"],
                           resident=context["resident"], **extra)


def log_reply(tracker: Tracker, kind: str, guide_id: str | None = None,
              candidates: list[str] | None = None) -> None:
    """Record an answer (with its guide) or a clarify / out-of-scope reply (with the question and candidates)."""
    try:
        extra: dict[str, Any] = {}
        if kind == "answer":
            extra["guide_id"] = guide_id or ""
        else:
            extra["question"] = _question(tracker)
            extra["candidates"] = list(candidates or [])
        _write(_context(tracker), kind, extra)
    except Exception:  # noqa: BLE001 - e.g. a broken settings file: the reply goes out anyway
        logger.exception("Could not record a %s reply", kind)


def log_messages(tracker: Tracker, messages: list[dict[str, Any]]) -> None:
    """Record the walkthrough events and clarifying questions among the replies an action sent."""
    try:
        context: dict[str, str] | None = None
        for message in messages:
            custom = message.get("custom") or {}
            kind = custom.get("kind") if isinstance(custom, dict) else None
            if kind == "walkthrough" and custom.get("event") in WALKTHROUGH_EVENTS:
                context = context or _context(tracker)
                _write(context, "walkthrough", {
                    "event": custom["event"], "guide_id": custom.get("guide_id", ""), "step": custom.get("step", ""),
                    "total": custom.get("total", ""), "duration_s": custom.get("duration_s", ""),
                    "started_at": custom.get("started_at", "")})
            elif kind == "clarify":
                context = context or _context(tracker)
                _write(context, "clarify", {"question": _question(tracker),
                                            "candidates": list(custom.get("candidates") or [])})
    except Exception:  # noqa: BLE001 - analytics must never break a reply to a resident
        logger.exception("Could not record walkthrough analytics")


RunMethod = Callable[[Any, "CollectingDispatcher", "Tracker", dict[str, Any]], Any]


def logs_replies(run: RunMethod) -> RunMethod:
    """Decorate an action's run(): after it, record the walkthrough events and clarifications it sent."""

    @functools.wraps(run)
    def wrapper(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Any:
        before = len(dispatcher.messages)
        events = run(self, dispatcher, tracker, domain)
        log_messages(tracker, dispatcher.messages[before:])
        return events

    return wrapper
