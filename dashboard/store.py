"""Reading the feedback, analytics and handoff streams, and keeping staff acknowledgements, in Redis.

Keys this module owns (the streams are written by the action server and the gateways):
  feedback:ack:<entry_id>   hash {status: received|acted, reply, by, at}: staff's acknowledgement and public reply
  feedback:acked            sorted set of acknowledged entry ids, scored by acknowledgement time (the public page)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from common.records import (
    ACK_KEY,
    ACKED,
    ANALYTICS_STREAM,
    COMMENT_KEY,
    FEEDBACK_STREAM,
    HANDOFF_STREAM,
    FeedbackRecord,
)
from common.text import mask_pii
from dashboard.metrics.records import ACK_STATUSES, Ack, Entry, FeedbackItem

logger = logging.getLogger(__name__)

COMMENT_PATTERN = COMMENT_KEY.format(id="*")
MAX_REPLY_CHARS = 500
_PAGE = 5000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _comment(value: Any) -> str:
    """A comment as staff and the public page see it: masked again on the way out, so one stored before a masking
    rule existed (card numbers were added later) never reaches the public page raw."""
    return mask_pii(_text(value))


def _ms(at: float) -> int:
    return int(at * 1000)


def _ack(data: dict[str, Any] | None) -> Ack | None:
    if not data or data.get("status") not in ACK_STATUSES:
        return None
    try:
        at = float(data.get("at") or 0)
    except ValueError:
        at = 0.0
    return Ack(status=data["status"], reply=data.get("reply", ""), by=data.get("by", ""), at=at)


class DashboardStore:
    """The dashboard's view of Redis (a redis.Redis with decode_responses=True)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def _entries(self, stream: str, since: float | None, until: float | None) -> Iterator[tuple[str, dict[str, str]]]:
        """Stream entries with since ≤ id time < until, oldest first, read page by page."""
        low = str(_ms(since)) if since else "-"
        high = str(_ms(until) - 1) if until else "+"
        while True:
            page = self.redis.xrange(stream, min=low, max=high, count=_PAGE)
            for entry_id, fields in page:
                yield _text(entry_id), {_text(k): _text(v) for k, v in fields.items()}
            if len(page) < _PAGE:
                return
            low = "(" + _text(page[-1][0])

    def feedback(self, since: float | None = None, until: float | None = None,
                 details: bool = True) -> list[FeedbackItem]:
        """Feedback entries in [since, until), with their comments and acknowledgements when `details`."""
        entries = [(i, FeedbackRecord.from_fields(f)) for i, f in self._entries(FEEDBACK_STREAM, since, until)]
        if not details or not entries:
            return [FeedbackItem(i, r) for i, r in entries]
        comments = self.redis.mget([COMMENT_KEY.format(id=i) for i, _ in entries])
        pipe = self.redis.pipeline(transaction=False)
        for entry_id, _ in entries:
            pipe.hgetall(ACK_KEY.format(id=entry_id))
        acks = pipe.execute()
        return [FeedbackItem(i, r, None if c is None else _comment(c), _ack(a))
                for (i, r), c, a in zip(entries, comments, acks, strict=True)]

    def feedback_item(self, entry_id: str) -> FeedbackItem | None:
        """One feedback entry by id, or None when there is no such entry."""
        found = self.redis.xrange(FEEDBACK_STREAM, min=entry_id, max=entry_id)
        if not found:
            return None
        fields = {_text(k): _text(v) for k, v in found[0][1].items()}
        comment = self.redis.get(COMMENT_KEY.format(id=entry_id))
        return FeedbackItem(entry_id, FeedbackRecord.from_fields(fields),
                            None if comment is None else _comment(comment),
                            _ack(self.redis.hgetall(ACK_KEY.format(id=entry_id))))

    def analytics(self, since: float | None = None, until: float | None = None) -> list[Entry]:
        """Analytics entries (answers, clarifications, walkthrough events) in [since, until)."""
        return [Entry.from_fields(i, f) for i, f in self._entries(ANALYTICS_STREAM, since, until)]

    def handoffs(self, since: float | None = None, until: float | None = None) -> list[Entry]:
        """Handoff events (opened, claimed, first_reply, closed, reminded) in [since, until)."""
        return [Entry.from_fields(i, f) for i, f in self._entries(HANDOFF_STREAM, since, until)]

    def acknowledge(self, entry_id: str, status: str, reply: str, by: str, now: float | None = None) -> bool:
        """Mark a feedback entry received / acted on with a public reply; False when the entry does not exist."""
        if status not in ACK_STATUSES:
            raise ValueError(f"status must be one of {ACK_STATUSES}, got {status!r}")
        if not self.redis.xrange(FEEDBACK_STREAM, min=entry_id, max=entry_id):
            return False
        now = now or time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(ACK_KEY.format(id=entry_id),
                  mapping={"status": status, "reply": reply.strip()[:MAX_REPLY_CHARS], "by": by, "at": f"{now:.3f}"})
        pipe.zadd(ACKED, {entry_id: now})
        pipe.execute()
        return True

    def unacknowledged_count(self, since: float | None = None) -> int:
        """Comments (since a time) that no one has acknowledged yet."""
        acked = {_text(i) for i in self.redis.zrange(ACKED, 0, -1)}
        return sum(1 for item in self.feedback(since, None, details=False) if item.needs_ack and item.id not in acked)

    def acknowledged(self, limit: int = 100) -> list[FeedbackItem]:
        """The most recently acknowledged feedback items, newest acknowledgement first."""
        out = []
        for entry_id in self.redis.zrevrange(ACKED, 0, limit - 1):
            item = self.feedback_item(_text(entry_id))
            if item is not None and item.ack is not None:
                out.append(item)
        return out


# --- retention -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    """What a purge did to the comment keys."""

    deleted: int
    shortened: int
    kept: int


def purge_action(entry_ms: int, ttl: int, now: float, retention_s: int) -> tuple[str, int]:
    """For one comment key: ('delete', 0) when older than the retention, ('expire', seconds) when its TTL outlives
    the retention (or it has none), else ('keep', 0). `ttl` is Redis's TTL reply (-1: no expiry)."""
    remaining = math.ceil(entry_ms / 1000 + retention_s - now)
    if remaining <= 0:
        return "delete", 0
    if ttl == -1 or ttl > remaining:
        return "expire", remaining
    return "keep", 0


def purge_comments(redis: Any, retention_days: int, now: float | None = None) -> PurgeResult:
    """Delete masked comments older than the retention and cap the expiry of the rest; the stream entries stay."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    now = now or time.time()
    deleted = shortened = kept = 0
    prefix = COMMENT_KEY.format(id="")
    batch: list[str] = []

    def flush() -> None:
        nonlocal deleted, shortened, kept
        pipe = redis.pipeline(transaction=False)
        for key in batch:
            pipe.ttl(key)
        ttls = pipe.execute()
        pipe = redis.pipeline(transaction=False)
        for key, ttl in zip(batch, ttls, strict=True):
            try:
                entry_ms = int(key[len(prefix):].split("-")[0])
            except ValueError:
                logger.warning("Comment key %s has no stream id: left alone", key)
                continue
            if ttl == -2:  # expired meanwhile
                continue
            action, seconds = purge_action(entry_ms, int(ttl), now, retention_days * 86400)
            if action == "delete":
                pipe.delete(key)
                deleted += 1
            elif action == "expire":
                pipe.expire(key, seconds)
                shortened += 1
            else:
                kept += 1
        pipe.execute()
        batch.clear()

    for key in redis.scan_iter(match=COMMENT_PATTERN, count=1000):
        batch.append(_text(key))
        if len(batch) >= 500:
            flush()
    if batch:
        flush()
    return PurgeResult(deleted, shortened, kept)
