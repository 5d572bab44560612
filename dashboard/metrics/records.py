"""The records the figures are computed from, as the store reads them: feedback, acknowledgements, stream entries."""

from __future__ import annotations

from dataclasses import dataclass

from common.records import FeedbackRecord

ACK_STATUSES = ("received", "acted")


@dataclass(frozen=True)
class Ack:
    """Staff's acknowledgement of a feedback item, with the public reply."""

    status: str  # received | acted
    reply: str
    by: str
    at: float


@dataclass(frozen=True)
class FeedbackItem:
    """One feedback entry as the dashboard shows it: the record, its comment (None once purged) and any ack."""

    id: str
    record: FeedbackRecord
    comment: str | None = None
    ack: Ack | None = None

    @property
    def needs_ack(self) -> bool:
        """A written comment (góp ý) is what residents expect the commune to answer."""
        return self.record.kind == "comment"


@dataclass(frozen=True)
class Entry:
    """One analytics or handoff stream entry: its time plus the raw string fields."""

    id: str
    at: float
    data: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        """A field, or the default."""
        return self.data.get(name, default)

    @classmethod
    def from_fields(cls, entry_id: str, data: dict[str, str]) -> Entry:
        """Parse a stream entry (a missing or bad `at` falls back to the time in the entry id)."""
        try:
            at = float(data.get("at") or "")
        except ValueError:
            at = int(entry_id.split("-")[0]) / 1000
        return cls(entry_id, at, dict(data))
