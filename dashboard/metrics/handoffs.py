"""Handoffs: conversations handed to a volunteer, and how fast the first reply came."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from dashboard.metrics.periods import Period
from dashboard.metrics.records import Entry
from dashboard.metrics.stats import median


@dataclass(frozen=True)
class HandoffStats:
    """Conversations handed to a volunteer and how fast the first reply came."""

    opened: int
    claimed: int
    replied: int
    closed: int
    median_first_reply_s: float | None


def handoff_stats(entries: Iterable[Entry], period: Period | None = None) -> HandoffStats:
    """Per ticket opened in the period: claimed / replied / closed, and first_reply.at - opened.at (median)."""
    tickets: dict[str, dict[str, float]] = defaultdict(dict)
    for entry in entries:
        ticket, event = entry.get("ticket"), entry.get("event")
        if not ticket or event not in ("opened", "claimed", "first_reply", "closed"):
            continue
        seen = tickets[ticket]
        seen[event] = min(seen.get(event, entry.at), entry.at)  # the first of each event counts
    opened = {t: ev for t, ev in tickets.items()
              if "opened" in ev and (period is None or period.contains(ev["opened"]))}
    waits = [ev["first_reply"] - ev["opened"] for ev in opened.values()
             if "first_reply" in ev and ev["first_reply"] >= ev["opened"]]
    return HandoffStats(
        opened=len(opened),
        claimed=sum("claimed" in ev for ev in opened.values()),
        replied=sum("first_reply" in ev for ev in opened.values()),
        closed=sum("closed" in ev for ev in opened.values()),
        median_first_reply_s=median(waits),
    )
