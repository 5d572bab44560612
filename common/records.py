"""The records processes exchange through Redis: stream names, keys, fields, and the residents' pseudonyms.

    feedback:v1                 XADD by the action server (ratings, comments)      read by the dashboard
    feedback:comment:<entry>    SET EX by the action server (masked comment)       read by the dashboard
    feedback:once:<key>         SET EX with the rating's entry (a rating counts once)
    feedback:ack:<entry>        HSET by the dashboard (staff acknowledgement); feedback:acked its index
    analytics:v1                XADD by the action server (turns, answers, walkthrough events)  read by the dashboard
    handoff:v1                  XADD by the gateways (tickets opened, claimed, closed)          read by the dashboard

Residents appear only as pseudonyms: an HMAC of the channel's user id under FEEDBACK_ID_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FEEDBACK_STREAM = "feedback:v1"
COMMENT_KEY = "feedback:comment:{id}"
ONCE_KEY = "feedback:once:{key}"  # an entry stored at most once (a rating answers one question): its id
ONCE_TTL_S = 3 * 86400
ACK_KEY = "feedback:ack:{id}"
ACKED = "feedback:acked"
MAX_COMMENT_CHARS = 2000
RATINGS = ("hai_long", "binh_thuong", "chua_hai_long")  # "satisfied" means hai_long, as on the national portal

ANALYTICS_STREAM = "analytics:v1"
ANALYTICS_KINDS = ("turn", "answer", "clarify", "out_of_scope", "no_guide", "sensitive", "walkthrough", "procedure")
WALKTHROUGH_EVENTS = ("started", "step", "stuck", "finished", "abandoned")
MAX_QUESTION_CHARS = 300

HANDOFF_STREAM = "handoff:v1"


def pseudonym(user_id: str, key: bytes) -> str:
    """A stable pseudonymous id for a resident: the same person maps to the same id, which cannot be reversed."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def decoded(data: dict[Any, Any]) -> dict[str, str]:
    """A stream entry's fields as str → str, whether the client decodes responses or not."""
    return {(k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else str(v))
            for k, v in data.items()}


@dataclass(frozen=True)
class FeedbackRecord:
    """One piece of feedback as stored in `feedback:v1` (the comment separately)."""

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


def analytics_fields(kind: str, *, channel: str, commune: str, resident: str, at: float | None = None,
                     **extra: Any) -> dict[str, str]:
    """One `analytics:v1` entry: kind, time, channel, commune, pseudonymous resident, and the kind's own fields."""
    if kind not in ANALYTICS_KINDS:
        raise ValueError(f"unknown analytics kind {kind!r}")
    fields = {"kind": kind, "at": f"{at or time.time():.3f}", "channel": channel, "commune": commune,
              "resident": resident}
    for key, value in extra.items():
        if value is not None:
            fields[key] = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
    return fields
