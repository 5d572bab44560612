"""The commune report: every figure of one period, assembled from the other metrics modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.metrics.conversations import conversations
from dashboard.metrics.feedback import unacknowledged
from dashboard.metrics.handoffs import HandoffStats, handoff_stats
from dashboard.metrics.periods import Period
from dashboard.metrics.records import Entry, FeedbackItem
from dashboard.metrics.satisfaction import Satisfaction, satisfaction, satisfaction_by, satisfaction_target
from dashboard.metrics.walkthroughs import Completion, completion, runs_started_in, walkthrough_runs


@dataclass(frozen=True)
class Report:
    """Every figure of one period: what the overview shows and what the exports write."""

    period: Period
    satisfaction: Satisfaction
    target: int
    by_topic: list[tuple[str, Satisfaction]]
    by_channel: list[tuple[str, Satisfaction]]
    by_commune: list[tuple[str, Satisfaction]]
    completion: Completion
    conversations: int
    handoffs: HandoffStats
    feedback: list[FeedbackItem]

    @property
    def unacknowledged(self) -> int:
        """Comments of the period still waiting for an acknowledgement."""
        return unacknowledged(self.feedback)

    @property
    def meets_target(self) -> bool | None:
        """Whether satisfaction reached the target (None without ratings)."""
        pct = self.satisfaction.percent
        return None if pct is None else pct >= self.target


def build_report(period: Period, feedback: Sequence[FeedbackItem], analytics: Sequence[Entry],
                 handoffs: Sequence[Entry]) -> Report:
    """All figures of a period from the raw entries (entries outside the period are ignored)."""
    items = [f for f in feedback if period.contains(f.record.at)]
    records = [f.record for f in items]
    in_period = [e for e in analytics if period.contains(e.at)]
    return Report(
        period=period,
        satisfaction=satisfaction(records),
        target=satisfaction_target(period.year),
        by_topic=satisfaction_by(records, lambda r: r.topic),
        by_channel=satisfaction_by(records, lambda r: r.channel),
        by_commune=satisfaction_by(records, lambda r: r.commune),
        completion=completion(runs_started_in(walkthrough_runs(analytics), period)),
        conversations=conversations(in_period),
        handoffs=handoff_stats(handoffs, period),
        feedback=items,
    )
