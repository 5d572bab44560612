"""Satisfaction: a rating is satisfied when it is `hai_long` (Hài lòng); the rate is hai_long ÷ all ratings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from common.records import RATINGS, FeedbackRecord
from dashboard.metrics.periods import Period

SATISFIED = "hai_long"


def satisfaction_target(year: int) -> int:
    """The satisfaction target in percent: 90% for 2025 (and before), 95% from 2026."""
    return 90 if year <= 2025 else 95


@dataclass(frozen=True)
class Satisfaction:
    """Rating counts of a set of feedback and the satisfaction rate they give."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    @property
    def total(self) -> int:
        """Number of ratings."""
        return sum(self.counts.values())

    @property
    def satisfied(self) -> int:
        """Number of "Hài lòng" ratings."""
        return self.counts.get(SATISFIED, 0)

    @property
    def percent(self) -> float | None:
        """Satisfied ÷ all ratings × 100, or None when there is no rating."""
        return 100.0 * self.satisfied / self.total if self.total else None


def satisfaction(records: Iterable[FeedbackRecord]) -> Satisfaction:
    """Count the ratings among feedback records (comments without a rating do not count)."""
    counts = dict.fromkeys(RATINGS, 0)
    for record in records:
        if record.kind == "rating" and record.rating in counts:
            counts[record.rating] += 1
    return Satisfaction(counts)


def satisfaction_by(records: Iterable[FeedbackRecord], key: Callable[[FeedbackRecord], str]) -> list[
        tuple[str, Satisfaction]]:
    """Satisfaction per group (topic, channel, commune…), the groups with most ratings first."""
    groups: dict[str, list[FeedbackRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "rating" and record.rating in RATINGS:
            groups[key(record) or ""].append(record)
    result = [(name, satisfaction(items)) for name, items in groups.items()]
    return sorted(result, key=lambda item: (-item[1].total, item[0]))


def trend(records: Sequence[FeedbackRecord], periods: Sequence[Period]) -> list[tuple[Period, Satisfaction]]:
    """Satisfaction in each period."""
    return [(p, satisfaction(r for r in records if p.contains(r.at))) for p in periods]
