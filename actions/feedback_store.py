"""The feedback log: one Redis Stream entry per piece of feedback, comments kept only for a retention period.

Each entry (`common.records.FeedbackRecord`) holds what the satisfaction reports need (time, channel, commune, topic,
walkthrough outcome, volunteer involved, rating) and a pseudonymous resident id — an HMAC of the channel's user id
under FEEDBACK_ID_KEY, never the raw Zalo/Telegram id. The free-text comment, masked for CCCD/phone/OTP, lives in its
own key that expires after FEEDBACK_RETENTION_DAYS (default 365), so raw comments are purged while the aggregates stay.
"""

from __future__ import annotations

from typing import Any

from common.records import (
    COMMENT_KEY,
    FEEDBACK_STREAM,
    MAX_COMMENT_CHARS,
    ONCE_KEY,
    ONCE_TTL_S,
    RATINGS,
    FeedbackRecord,
    decoded,
)
from common.redis import MemoryRedis, lua
from common.text import mask_pii, truncate

# Store the entry unless the key names one already; either way return the entry's id (a retried rating counts once).
ADD_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return id
"""


@lua(ADD_ONCE)
def _add_once(memory: MemoryRedis, keys: list[str], args: list[str]) -> str:
    existing = memory.get(keys[0])
    if existing is not None:
        return existing
    flat = args[1:]
    entry_id = memory.xadd(keys[1], dict(zip(flat[::2], flat[1::2], strict=True)))
    memory.set(keys[0], entry_id, ex=int(args[0]))
    return entry_id


class FeedbackStore:
    """Append feedback durably and read it back (on a Redis client, or MemoryRedis for the terminal demo)."""

    def __init__(self, redis: Any, retention_days: int = 365) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.redis = redis
        self.retention_s = retention_days * 86400

    def add(self, record: FeedbackRecord, comment: str = "", once: str = "") -> str:
        """Store a record (and its masked comment); return the stream entry id.

        With `once`, the record is stored only the first time that key is given (checked and written atomically in
        Redis); later calls return the first entry's id. A rating retried after a failure is never counted twice.
        """
        if record.kind == "rating" and record.rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {record.rating!r}")
        if once:
            flat = [item for pair in record.fields().items() for item in pair]
            entry_id = self.redis.eval(ADD_ONCE, 2, ONCE_KEY.format(key=once), FEEDBACK_STREAM, ONCE_TTL_S, *flat)
        else:
            entry_id = self.redis.xadd(FEEDBACK_STREAM, record.fields())
        entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        if comment.strip():
            text = truncate(mask_pii(comment.strip()), MAX_COMMENT_CHARS)
            self.redis.set(COMMENT_KEY.format(id=entry_id), text, ex=self.retention_s)
        return entry_id

    def records(self, since: float | None = None, until: float | None = None) -> list[tuple[str, FeedbackRecord]]:
        """Entries between two times (seconds since the epoch), oldest first."""
        low = f"{int(since * 1000)}" if since else "-"
        high = f"{int(until * 1000)}" if until else "+"
        out = []
        for entry_id, data in self.redis.xrange(FEEDBACK_STREAM, min=low, max=high):
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            out.append((entry_id, FeedbackRecord.from_fields(decoded(data))))
        return out

    def comment(self, entry_id: str) -> str | None:
        """The masked comment of an entry, or None once it expired (or there was none)."""
        value = self.redis.get(COMMENT_KEY.format(id=entry_id))
        return value.decode() if isinstance(value, bytes) else value
