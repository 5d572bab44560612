"""The analytics log: one `analytics:v1` entry per answer, clarifying question, out-of-scope reply and walkthrough event.

The staff dashboard (dashboard/) reads it for conversation counts, knowledge gaps (questions that fell to a clarifying
question or out of scope) and the walkthrough funnel. Entries keep a pseudonymous resident id, never the channel's
user id, and questions are PII-masked before they are stored. Writing never fails a reply: a Redis error is logged
and the conversation goes on. Fields: `common.records.analytics_fields`; answer adds guide_id; clarify,
out_of_scope, no_guide, sensitive and procedure add question and candidates (guide ids or procedure codes);
walkthrough adds event, guide_id, step, total, duration_s and started_at (with the resident, one walkthrough run).

This module is the log itself; `actions.services.log_reply` / `log_walkthrough` are what actions call, with the
conversation's context and question. There is one path: every action that answers calls one of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.records import ANALYTICS_STREAM, MAX_QUESTION_CHARS, WALKTHROUGH_EVENTS, analytics_fields
from common.text import mask_pii, truncate

logger = logging.getLogger(__name__)

MAXLEN = 1_000_000  # approximate trim: ~2 years of a busy commune; the dashboard reads months, not years
# Replies recorded with the resident's question (the knowledge-gaps page lists them).
WITH_QUESTION = ("clarify", "out_of_scope", "no_guide", "sensitive", "procedure")


@dataclass(frozen=True)
class Context:
    """Where a conversation happens: channel, commune, and the resident's pseudonym."""

    channel: str
    commune: str
    resident: str


class AnalyticsLog:
    """Append analytics entries to a Redis Stream (or MemoryRedis); never raises into the caller."""

    def __init__(self, redis: Any, maxlen: int = MAXLEN, on_error: Callable[[], None] | None = None) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.on_error = on_error or (lambda: None)  # counts a failed write on /metrics

    def record(self, kind: str, *, channel: str, commune: str, resident: str, at: float | None = None,
               **extra: Any) -> str | None:
        """Append one entry; return its stream id, or None when it could not be written (logged)."""
        try:
            fields = analytics_fields(kind, channel=channel, commune=commune, resident=resident, at=at, **extra)
        except ValueError:
            logger.error("Unknown analytics kind %r: not recorded", kind)
            return None
        try:
            entry_id = self.redis.xadd(ANALYTICS_STREAM, fields, maxlen=self.maxlen, approximate=True)
        except Exception:  # noqa: BLE001 - analytics must never break a reply to a resident
            logger.exception("Could not write an analytics entry (%s)", kind)
            self.on_error()
            return None
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def reply(self, context: Context, kind: str, question: str = "", guide_id: str | None = None,
              candidates: list[str] | None = None) -> str | None:
        """An answer (with its guide), or a reply that keeps the masked question and the candidates it offered."""
        extra: dict[str, Any] = {}
        if kind == "answer":
            extra["guide_id"] = guide_id or ""
        else:
            extra["question"] = truncate(mask_pii(question.strip()), MAX_QUESTION_CHARS)
            extra["candidates"] = list(candidates or [])
        return self.record(kind, channel=context.channel, commune=context.commune, resident=context.resident, **extra)

    def walkthrough(self, context: Context, payload: dict[str, Any]) -> str | None:
        """A walkthrough event, from the machine-readable part of the message that announced it."""
        if payload.get("event") not in WALKTHROUGH_EVENTS:
            return None
        return self.record("walkthrough", channel=context.channel, commune=context.commune,
                           resident=context.resident, event=payload["event"], guide_id=payload.get("guide_id", ""),
                           step=payload.get("step", ""), total=payload.get("total", ""),
                           duration_s=payload.get("duration_s", ""), started_at=payload.get("started_at", ""))
