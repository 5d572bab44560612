"""Walkthroughs: runs grouped from walkthrough events, their completion rate and duration, and per-guide funnels."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dashboard.metrics.periods import Period
from dashboard.metrics.records import Entry
from dashboard.metrics.stats import median

TARGET_DURATION_S = 5 * 60  # a walkthrough should take a resident under five minutes


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
