"""Query and form values shared by the routes: safe redirect targets and report periods."""

from __future__ import annotations

from dashboard.metrics import Period, months_ending, parse_period


def safe_next(value: str | None, default: str = "/") -> str:
    """Only local paths are followed after login or a form (no //host or scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def period_or_default(value: str | None, messages: list[str]) -> Period:
    """The period asked for, or this month with a message saying the value was not understood."""
    try:
        return parse_period(value)
    except ValueError:
        messages.append("Kỳ không hợp lệ (ví dụ đúng: 2026-11 hoặc 2026-Q4); đang hiển thị tháng này.")
        return parse_period(None)


def period_choices(now: float, months: int = 12, quarters: int = 4) -> list[Period]:
    """The periods a page offers: the last `months` months, newest first, then the last `quarters` quarters."""
    current = parse_period(None)
    choices = months_ending(current, months)[::-1]
    year, quarter = current.year, (current.start.month - 1) // 3 + 1
    for _ in range(quarters):
        choices.append(parse_period(f"{year}-Q{quarter}"))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return choices
