"""The figures on the dashboard, as pure functions over records read from Redis (no I/O here).

Satisfaction follows the README: a rating is "satisfied" when it is `hai_long` (Hài lòng), and the satisfaction rate
of a period is hai_long ÷ all ratings given in it. Periods are calendar months, quarters and weeks in Vietnam time
(UTC+7, no daylight saving).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from common.records import RATINGS, FeedbackRecord
from common.text import fold, has_diacritics, normalise

ICT = timezone(timedelta(hours=7), "ICT")
SATISFIED = "hai_long"
TARGET_DURATION_S = 5 * 60  # a walkthrough should take a resident under five minutes
ACK_STATUSES = ("received", "acted")
_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


def satisfaction_target(year: int) -> int:
    """The satisfaction target in percent: 90% for 2025 (and before), 95% from 2026."""
    return 90 if year <= 2025 else 95


# --- periods -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open span of time [start, end) in Vietnam time, with its key ("2026-11", "2026-Q4") and label."""

    key: str
    label: str
    start: datetime
    end: datetime

    @property
    def since(self) -> float:
        """Start as epoch seconds."""
        return self.start.timestamp()

    @property
    def until(self) -> float:
        """End (exclusive) as epoch seconds."""
        return self.end.timestamp()

    def contains(self, at: float) -> bool:
        """True when an epoch time falls inside the period."""
        return self.since <= at < self.until

    @property
    def year(self) -> int:
        """The calendar year the period starts in."""
        return self.start.year


def month_period(year: int, month: int) -> Period:
    """One calendar month."""
    start = datetime(year, month, 1, tzinfo=ICT)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=ICT)
    return Period(f"{year}-{month:02d}", f"tháng {month}/{year}", start, end)


def quarter_period(year: int, quarter: int) -> Period:
    """One calendar quarter (Q1 = January–March)."""
    first = month_period(year, 3 * quarter - 2)
    last = month_period(year, 3 * quarter)
    return Period(f"{year}-Q{quarter}", f"quý {quarter}/{year}", first.start, last.end)


def parse_period(value: str | None, now: datetime | None = None) -> Period:
    """'2026-11' or '2026-Q4' → a Period; empty → the current month. Raises ValueError on anything else."""
    if not value:
        today = (now or datetime.now(ICT)).astimezone(ICT)
        return month_period(today.year, today.month)
    match = _PERIOD.match(value.strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError(f"period must look like 2026-11 or 2026-Q4, got {value!r}")
    year = int(match.group(1))
    if match.group(3):
        return quarter_period(year, int(match.group(3)))
    return month_period(year, int(match.group(2)))


def months_ending(last: Period, count: int) -> list[Period]:
    """`count` consecutive months ending with the month `last` starts in, oldest first."""
    year, month = last.start.year, last.start.month
    out = []
    for _ in range(count):
        out.append(month_period(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def weeks_ending(moment: datetime, count: int) -> list[Period]:
    """`count` Monday-to-Sunday weeks, the last one containing `moment`, oldest first."""
    local = moment.astimezone(ICT)
    monday = datetime(local.year, local.month, local.day, tzinfo=ICT) - timedelta(days=local.weekday())
    out = []
    for i in range(count - 1, -1, -1):
        start = monday - timedelta(weeks=i)
        end = start + timedelta(weeks=1)
        out.append(Period(f"{start:%G-W%V}", f"{start.day:02d}/{start.month:02d}", start, end))
    return out


def local_date(at: float) -> date:
    """The calendar day in Vietnam of an epoch time."""
    return datetime.fromtimestamp(at, ICT).date()


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return float(statistics.median(values)) if values else None


# --- satisfaction --------------------------------------------------------------------------------------------------


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


# --- feedback items and acknowledgements ---------------------------------------------------------------------------


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


# --- analytics: conversations, walkthroughs, knowledge gaps ---------------------------------------------------------


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


def conversations(entries: Iterable[Entry]) -> int:
    """Conversations, counted as distinct (resident, day in Vietnam) pairs."""
    return len({(e.get("resident"), local_date(e.at)) for e in entries if e.get("resident")})


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class WalkRun:
    """One walkthrough by one resident, from its start event to where it ended."""

    resident: str
    guide_id: str
    started_at: float
    total: int = 0
    max_step: int = 0
    stuck: Counter[int] = field(default_factory=Counter)
    started: bool = False
    finished: bool = False
    abandoned: bool = False
    duration_s: float | None = None


def walkthrough_runs(entries: Iterable[Entry]) -> list[WalkRun]:
    """Group walkthrough events into runs keyed by (resident, guide, start time), ordered by start time."""
    runs: dict[tuple[str, str, str], WalkRun] = {}
    for entry in sorted((e for e in entries if e.get("kind") == "walkthrough"), key=lambda e: e.at):
        started_at = _number(entry.get("started_at"))
        key = (entry.get("resident"), entry.get("guide_id"), f"{started_at:.3f}" if started_at else entry.id)
        run = runs.get(key)
        if run is None:
            run = runs[key] = WalkRun(entry.get("resident"), entry.get("guide_id"), started_at or entry.at)
        step = int(_number(entry.get("step")) or 0)
        run.total = max(run.total, int(_number(entry.get("total")) or 0))
        run.max_step = max(run.max_step, step)
        event = entry.get("event")
        if event == "started":
            run.started = True
        elif event == "stuck" and step:
            run.stuck[step] += 1
        elif event == "finished":
            run.finished = True
            run.abandoned = False
            run.duration_s = _number(entry.get("duration_s"))
            if run.duration_s is None and started_at:
                run.duration_s = entry.at - started_at
        elif event == "abandoned" and not run.finished:
            run.abandoned = True
    return sorted(runs.values(), key=lambda r: r.started_at)


def runs_started_in(runs: Iterable[WalkRun], period: Period) -> list[WalkRun]:
    """Runs whose start event falls in the period (a run belongs to the period it started in)."""
    return [r for r in runs if r.started and period.contains(r.started_at)]


@dataclass(frozen=True)
class Completion:
    """How many walkthroughs were started and finished, and how long a finished one took."""

    started: int
    finished: int
    abandoned: int
    median_duration_s: float | None

    @property
    def rate(self) -> float | None:
        """Finished ÷ started × 100, or None when none started."""
        return 100.0 * self.finished / self.started if self.started else None

    @property
    def within_target(self) -> bool | None:
        """Whether the median duration is at most five minutes (None without a finished walkthrough)."""
        return None if self.median_duration_s is None else self.median_duration_s <= TARGET_DURATION_S


def completion(runs: Sequence[WalkRun]) -> Completion:
    """Completion rate and median duration of started runs."""
    started = [r for r in runs if r.started]
    durations = [r.duration_s for r in started if r.finished and r.duration_s is not None and r.duration_s >= 0]
    return Completion(len(started), sum(r.finished for r in started), sum(r.abandoned for r in started),
                      median(durations))


@dataclass(frozen=True)
class FunnelStep:
    """One step of a guide's walkthrough: how many runs reached it, stopped at it, and asked for help on it."""

    step: int
    reached: int
    stopped: int
    stuck: int


@dataclass(frozen=True)
class GuideFunnel:
    """The funnel of one guide's walkthrough."""

    guide_id: str
    started: int
    finished: int
    steps: list[FunnelStep]

    @property
    def rate(self) -> float | None:
        """Completion rate in percent."""
        return 100.0 * self.finished / self.started if self.started else None

    @property
    def worst_step(self) -> FunnelStep | None:
        """The step most residents stopped at (ties: the earlier step), or None when nobody stopped."""
        stopped = [s for s in self.steps if s.stopped]
        return max(stopped, key=lambda s: (s.stopped, -s.step)) if stopped else None


def funnels(runs: Sequence[WalkRun]) -> list[GuideFunnel]:
    """Per guide: runs reaching each step, stopping there without finishing, and stuck presses; busiest first."""
    by_guide: dict[str, list[WalkRun]] = defaultdict(list)
    for run in runs:
        if run.started:
            by_guide[run.guide_id].append(run)
    out = []
    for guide_id, items in by_guide.items():
        total = max(max(r.total for r in items), max(r.max_step for r in items))
        steps = [FunnelStep(step,
                            reached=sum(1 for r in items if r.max_step >= step or r.finished),
                            stopped=sum(1 for r in items if not r.finished and r.max_step == step),
                            stuck=sum(r.stuck[step] for r in items))
                 for step in range(1, total + 1)]
        out.append(GuideFunnel(guide_id, len(items), sum(r.finished for r in items), steps))
    return sorted(out, key=lambda f: (-f.started, f.guide_id))


# Folded function words that say nothing about the topic of a question.
STOPWORDS = frozenset(
    "a ah ak a2 ad anh ban bi cac cach can cho chi co con cua da de duoc dau em gi giup ha hay hoi khi khong la lam "
    "len luc ma minh muon nao nay nhe nhu nhung o oi phai ra roi sao the thi toi tu va vay ve voi vs xin".split())


def question_terms(question: str) -> frozenset[str]:
    """The content words of a question: folded, abbreviations expanded, function words left out."""
    return frozenset(t for t in normalise(question).split() if t not in STOPWORDS and len(t) > 1)


def _similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


@dataclass
class GapGroup:
    """Questions about the same thing that the assistant could not answer directly."""

    example: str
    terms: frozenset[str]
    count: int = 0
    clarify: int = 0
    out_of_scope: int = 0
    candidates: Counter[str] = field(default_factory=Counter)
    questions: Counter[str] = field(default_factory=Counter)
    last_at: float = 0.0

    @property
    def top_candidates(self) -> list[str]:
        """The guides the assistant found closest, most often first."""
        return [g for g, _ in self.candidates.most_common(3)]


def knowledge_gaps(entries: Iterable[Entry], threshold: float = 0.5) -> list[GapGroup]:
    """Group clarify / no-guide / out-of-scope questions by shared content words (Jaccard ≥ threshold); biggest first.

    A "no guide yet" reply is counted with out-of-scope: both are questions no guide answered.
    """
    asked: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        question = entry.get("question").strip()
        if entry.get("kind") in ("clarify", "out_of_scope", "no_guide") and question:
            asked[question].append(entry)
    groups: list[GapGroup] = []
    # the most frequent wording opens a group and becomes its example (with diacritics preferred: easier to read)
    for question, items in sorted(asked.items(), key=lambda kv: (-len(kv[1]), not has_diacritics(kv[0]), kv[0])):
        terms = question_terms(question)
        group = next((g for g in groups if _similar(terms, g.terms, threshold)), None)
        if group is None:
            group = GapGroup(question, terms)
            groups.append(group)
        group.questions[question] += len(items)
        for entry in items:
            group.count += 1
            if entry.get("kind") == "clarify":
                group.clarify += 1
            else:
                group.out_of_scope += 1
            try:
                candidates = json.loads(entry.get("candidates") or "[]")
            except ValueError:
                candidates = []
            group.candidates.update(str(c) for c in candidates if isinstance(c, str))
            group.last_at = max(group.last_at, entry.at)
    return sorted(groups, key=lambda g: (-g.count, -g.last_at))


# --- handoffs ------------------------------------------------------------------------------------------------------


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


# --- the commune report --------------------------------------------------------------------------------------------


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
