"""Periods in Vietnam time (UTC+7, no daylight saving): calendar months, quarters and Monday-to-Sunday weeks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

ICT = timezone(timedelta(hours=7), "ICT")
_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


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
