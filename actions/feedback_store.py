"""The feedback log: one Redis Stream entry per piece of feedback, comments kept only for a retention period.

Each entry holds what the satisfaction reports need (time, channel, commune, topic, walkthrough outcome, volunteer
involved, rating) and a pseudonymous resident id — an HMAC of the channel's user id under FEEDBACK_ID_KEY, never
the raw Zalo/Telegram id. The free-text comment, masked for CCCD/phone/OTP, lives in its own key that expires after
FEEDBACK_RETENTION_DAYS (default 365), so raw comments are purged while the aggregates stay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from actions.text import mask_pii, truncate

STREAM = "feedback:v1"
COMMENT_KEY = "feedback:comment:{id}"
# An entry that must be stored at most once (a rating answers one question): its id, kept a few days.
ONCE_KEY = "feedback:once:{key}"
ONCE_TTL_S = 3 * 86400
_ADD_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return id
"""
MAX_COMMENT_CHARS = 2000
RATINGS = ("hai_long", "binh_thuong", "chua_hai_long")  # "satisfied" means hai_long, as on the national portal


def pseudonym(user_id: str, key: bytes) -> str:
    """A stable pseudonymous id for a resident: the same person maps to the same id, which cannot be reversed."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


@dataclass(frozen=True)
class FeedbackRecord:
    """One piece of feedback as stored (the comment separately)."""

    resident: str
    channel: str
    commune: str
    kind: str  # "rating" or "comment"
    rating: str = ""
    topic: str = ""
    walkthrough: dict[str, Any] = field(default_factory=dict)
    volunteer: bool = False
    at: float = 0.0
    rating_id: str = ""  # a comment written right after a rating: the rating's entry id

    def fields(self) -> dict[str, str]:
        """The stream entry (Redis stores strings)."""
        data = asdict(self)
        data["walkthrough"] = json.dumps(self.walkthrough, ensure_ascii=False)
        data["volunteer"] = "1" if self.volunteer else "0"
        data["at"] = f"{self.at or time.time():.3f}"
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> FeedbackRecord:
        """Rebuild a record from a stream entry."""
        return cls(
            resident=data.get("resident", ""), channel=data.get("channel", ""), commune=data.get("commune", ""),
            kind=data.get("kind", ""), rating=data.get("rating", ""), topic=data.get("topic", ""),
            walkthrough=json.loads(data.get("walkthrough") or "{}"), volunteer=data.get("volunteer") == "1",
            at=float(data.get("at") or 0), rating_id=data.get("rating_id", ""),
        )


class RedisLike(Protocol):
    """The few Redis commands the store uses (redis.Redis satisfies it)."""

    def xadd(self, name: str, fields: dict[str, str]) -> Any: ...
    def xrange(self, name: str, min: str = "-", max: str = "+", count: int | None = None) -> Any: ...
    def set(self, name: str, value: str, ex: int | None = None) -> Any: ...
    def get(self, name: str) -> Any: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


class FeedbackStore:
    """Append feedback durably and read it back."""

    def __init__(self, redis: RedisLike | Any, retention_days: int = 365) -> None:
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
            key = ONCE_KEY.format(key=once)
            if isinstance(self.redis, MemoryRedis):
                entry_id = self.redis.xadd_once(key, STREAM, record.fields())
            else:
                flat = [item for pair in record.fields().items() for item in pair]
                entry_id = self.redis.eval(_ADD_ONCE, 2, key, STREAM, ONCE_TTL_S, *flat)
        else:
            entry_id = self.redis.xadd(STREAM, record.fields())
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
        for entry_id, data in self.redis.xrange(STREAM, min=low, max=high):
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                      for k, v in data.items()}
            out.append((entry_id, FeedbackRecord.from_fields(fields)))
        return out

    def comment(self, entry_id: str) -> str | None:
        """The masked comment of an entry, or None once it expired (or there was none)."""
        value = self.redis.get(COMMENT_KEY.format(id=entry_id))
        return value.decode() if isinstance(value, bytes) else value


class MemoryRedis:
    """Stand-in for Redis when REDIS_URL is unset (terminal chat): same commands, kept in this process only."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, str]]] = []
        self.values: dict[str, str] = {}
        self._last = (0, 0)

    def xadd(self, name: str, fields: dict[str, str]) -> str:
        ms = int(time.time() * 1000)
        seq = self._last[1] + 1 if ms <= self._last[0] else 0
        ms = max(ms, self._last[0])
        self._last = (ms, seq)
        entry_id = f"{ms}-{seq}"
        self.entries.append((entry_id, dict(fields)))
        return entry_id

    def xadd_once(self, key: str, name: str, fields: dict[str, str]) -> str:
        if key not in self.values:
            self.values[key] = self.xadd(name, fields)
        return self.values[key]

    def xrange(self, name: str, min: str = "-", max: str = "+", count: int | None = None) -> list[Any]:
        low = -1 if min == "-" else int(min.split("-")[0])
        high = float("inf") if max == "+" else int(max.split("-")[0])
        return [(i, f) for i, f in self.entries if low <= int(i.split("-")[0]) <= high]

    def set(self, name: str, value: str, ex: int | None = None) -> bool:
        self.values[name] = value
        return True

    def get(self, name: str) -> str | None:
        return self.values.get(name)


_store: FeedbackStore | None = None


def get_feedback_store() -> FeedbackStore:
    """The process-wide store: Redis at REDIS_URL, or in memory when it is unset."""
    global _store
    if _store is None:
        import os

        url = os.environ.get("REDIS_URL")
        days = int(os.environ.get("FEEDBACK_RETENTION_DAYS", "365") or 365)
        if url:
            import redis

            client: Any = redis.Redis.from_url(url, decode_responses=True)
            _store = FeedbackStore(client, days)
        else:
            _store = FeedbackStore(MemoryRedis(), days)
    return _store


@lru_cache(maxsize=1)
def pseudonym_key() -> bytes:
    """FEEDBACK_ID_KEY from the environment; for local runs a random key kept in .cache/ (created once)."""
    import os
    import secrets

    from actions.settings import ROOT

    value = os.environ.get("FEEDBACK_ID_KEY")
    if value:
        return value.encode()
    path = ROOT / ".cache" / "feedback-id.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
