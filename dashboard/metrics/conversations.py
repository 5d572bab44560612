"""Conversations: distinct (resident, day in Vietnam) pairs among analytics entries."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.metrics.periods import local_date
from dashboard.metrics.records import Entry


def conversations(entries: Iterable[Entry]) -> int:
    """Conversations, counted as distinct (resident, day in Vietnam) pairs."""
    return len({(e.get("resident"), local_date(e.at)) for e in entries if e.get("resident")})
