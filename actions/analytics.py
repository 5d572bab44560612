"""The analytics log: one `analytics:v1` entry per answer, clarifying question, out-of-scope reply and walkthrough event.

The staff dashboard (dashboard/) reads it for conversation counts, knowledge gaps (questions that fell to a clarifying
question or out of scope) and the walkthrough funnel. Entries keep a pseudonymous resident id, never the channel's
user id, and questions are PII-masked before they are stored. Writing never fails a reply: a Redis error is logged
and the conversation goes on. Fields: `common.records.analytics_fields`; answer adds guide_id; clarify,
out_of_scope, no_guide, sensitive and procedure add question and candidates (guide ids or procedure codes);
walkthrough adds event, guide_id, step, total, duration_s and started_at (with the resident, one walkthrough run).

This module is the log itself; `actions.services.log_reply` / `log_walkthrough` are what actions call, with the
conversation's context and question. There is one path: every action that answers calls one of them.

The action server writes through `QueuedAnalyticsLog`: a reply does not wait for Redis. Under 20 residents at once,
the synchronous XADD (one round trip per reply, on the server's one event loop) was a fifth of the action server's
time; a background thread now writes the entries in pipelined batches, in the order they were recorded.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
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
        return self._append(kind, fields)

    def _append(self, kind: str, fields: dict[str, str]) -> str | None:
        """Write one entry now; its stream id, or None when Redis refused it (logged and counted)."""
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


class QueuedAnalyticsLog(AnalyticsLog):
    """The analytics log, written by a background thread in pipelined batches, so a reply never waits for Redis.

    `record` checks and builds the entry (its time is the reply's time) and queues it; one writer thread, started on
    the first entry (never at import, never before a fork), wakes every `interval` seconds and sends up to `batch`
    queued entries per round trip, in the order they were recorded. Nothing wakes it per entry: under load a thread
    hand-off per reply cost as much as the write it saved. A failed batch is logged and counted, as a failed single
    write was. A full queue (Redis slower than the replies for `max_queued` entries) drops the new entry, logged and
    counted: memory stays bounded. At exit the queue is written out (up to `exit_timeout` seconds). `record` returns
    None: ids are Redis's to give.
    """

    def __init__(self, redis: Any, maxlen: int = MAXLEN, on_error: Callable[[], None] | None = None,
                 batch: int = 256, max_queued: int = 50_000, interval: float = 0.05, exit_timeout: float = 5.0) -> None:
        super().__init__(redis, maxlen, on_error)
        self.batch, self.max_queued, self.interval, self.exit_timeout = batch, max_queued, interval, exit_timeout
        self._pending: deque[tuple[str, dict[str, str]]] = deque()
        self._busy = False
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _append(self, kind: str, fields: dict[str, str]) -> str | None:
        if self._writer is None:
            self._start()
        if len(self._pending) >= self.max_queued:
            logger.error("Analytics queue full: an entry (%s) was not recorded", kind)
            self.on_error()
        else:
            self._pending.append((kind, fields))  # deque.append is atomic: no lock on the reply's path
        return None

    def _start(self) -> None:
        with self._start_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_forever, name="analytics-writer", daemon=True)
                self._writer.start()
                atexit.register(self.flush, self.exit_timeout)

    def _write_forever(self) -> None:
        while True:
            if not self._pending:
                time.sleep(self.interval)
                continue
            self._busy = True
            pending: list[tuple[str, dict[str, str]]] = []
            while self._pending and len(pending) < self.batch:
                pending.append(self._pending.popleft())
            self._write(pending)
            self._busy = False

    def _write(self, pending: list[tuple[str, dict[str, str]]]) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            for _, fields in pending:
                pipe.xadd(ANALYTICS_STREAM, fields, maxlen=self.maxlen, approximate=True)
            pipe.execute()
        except Exception:  # noqa: BLE001 - analytics must never break the server; the failure is counted
            logger.exception("Could not write %d analytics entries (%s)", len(pending),
                             ", ".join(sorted({kind for kind, _ in pending})))
            for _ in pending:
                self.on_error()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued entry has been written (or failed); False if `timeout` seconds were not enough."""
        deadline = time.monotonic() + timeout
        while self._pending or self._busy:
            if self._writer is None or time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True
