"""The feedback list: filtering feedback items and counting the comments still waiting for an acknowledgement."""

from __future__ import annotations

from collections.abc import Iterable

from common.text import fold
from dashboard.metrics.records import FeedbackItem


def filter_feedback(items: Iterable[FeedbackItem], *, rating: str = "", channel: str = "", topic: str = "",
                    acked: str = "", query: str = "") -> list[FeedbackItem]:
    """Feedback matching the filters (empty = any); `acked` is yes (acknowledged) or no (comments still waiting);
    `rating` may be "none" (comments only); `query` ignores case and diacritics."""
    needle = fold(query.strip())
    out = []
    for item in items:
        record = item.record
        if rating == "none" and record.kind == "rating":
            continue
        if rating and rating != "none" and record.rating != rating:
            continue
        if channel and record.channel != channel:
            continue
        if topic and record.topic != topic:
            continue
        if acked == "yes" and item.ack is None:
            continue
        if acked == "no" and (item.ack is not None or not item.needs_ack):  # what still waits for a reply
            continue
        if needle:
            haystack = " ".join([item.comment or "", record.topic, item.ack.reply if item.ack else ""])
            if needle not in fold(haystack):
                continue
        out.append(item)
    return out


def unacknowledged(items: Iterable[FeedbackItem]) -> int:
    """How many comments still wait for an acknowledgement."""
    return sum(1 for item in items if item.needs_ack and item.ack is None)
