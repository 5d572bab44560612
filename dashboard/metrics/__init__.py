"""The figures on the dashboard, as pure functions over records read from Redis (no I/O here).

Satisfaction follows the README: a rating is "satisfied" when it is `hai_long` (Hài lòng), and the satisfaction rate
of a period is hai_long ÷ all ratings given in it. Periods are calendar months, quarters and weeks in Vietnam time
(UTC+7, no daylight saving).

One module per concern; every public name is re-exported here, so `from dashboard.metrics import …` keeps working:
  periods        Period, months / quarters / weeks, Vietnam time (ICT)
  records        FeedbackItem, Ack, Entry: what the store reads from Redis
  satisfaction   rating counts, the satisfaction rate and its target, trends
  feedback       the feedback list filters and the comments still waiting for an acknowledgement
  conversations  distinct (resident, day) pairs
  walkthroughs   walkthrough runs, completion and duration, per-guide funnels
  gaps           knowledge gaps: unanswered questions grouped by content words
  handoffs       volunteer handoffs and the time to a first reply
  report         Report / build_report: every figure of one period
  stats          the median
"""

from __future__ import annotations

from dashboard.metrics.conversations import conversations
from dashboard.metrics.feedback import filter_feedback, unacknowledged
from dashboard.metrics.gaps import STOPWORDS, GapGroup, knowledge_gaps, question_terms
from dashboard.metrics.handoffs import HandoffStats, handoff_stats
from dashboard.metrics.periods import (
    ICT,
    Period,
    local_date,
    month_period,
    months_ending,
    parse_period,
    quarter_period,
    weeks_ending,
)
from dashboard.metrics.records import ACK_STATUSES, Ack, Entry, FeedbackItem
from dashboard.metrics.report import Report, build_report
from dashboard.metrics.satisfaction import (
    SATISFIED,
    Satisfaction,
    satisfaction,
    satisfaction_by,
    satisfaction_target,
    trend,
)
from dashboard.metrics.stats import median
from dashboard.metrics.walkthroughs import (
    TARGET_DURATION_S,
    Completion,
    FunnelStep,
    GuideFunnel,
    WalkRun,
    completion,
    funnels,
    runs_started_in,
    walkthrough_runs,
)

__all__ = [
    "ACK_STATUSES", "ICT", "SATISFIED", "STOPWORDS", "TARGET_DURATION_S",
    "Ack", "Completion", "Entry", "FeedbackItem", "FunnelStep", "GapGroup", "GuideFunnel", "HandoffStats", "Period",
    "Report", "Satisfaction", "WalkRun",
    "build_report", "completion", "conversations", "filter_feedback", "funnels", "handoff_stats", "knowledge_gaps",
    "local_date", "median", "month_period", "months_ending", "parse_period", "quarter_period", "question_terms",
    "runs_started_in", "satisfaction", "satisfaction_by", "satisfaction_target", "trend", "unacknowledged",
    "walkthrough_runs", "weeks_ending",
]
