"""Numbers, durations and dates written the Vietnamese way (91,5%; 1.234; 4 phút 12 giây; 22/11/2026 14:05)."""

from __future__ import annotations

from datetime import datetime

from dashboard.metrics.periods import ICT

RATING_LABELS = {"hai_long": "Hài lòng", "binh_thuong": "Bình thường", "chua_hai_long": "Chưa hài lòng"}
KIND_LABELS = {"rating": "Đánh giá", "comment": "Góp ý"}
ACK_LABELS = {"received": "Đã tiếp nhận", "acted": "Đã xử lý"}
CHANNEL_LABELS = {"zalo": "Zalo OA", "zalobot": "Zalo Bot", "telegram": "Telegram", "web": "Trang web", "rest": "Web / thử nghiệm",
                  "cmdline": "Dòng lệnh (thử nghiệm)"}
EMPTY = "—"


def number(value: float | int | None) -> str:
    """1234 → '1.234'; None → '—'."""
    if value is None:
        return EMPTY
    return f"{round(value):,}".replace(",", ".")


def percent(value: float | None, digits: int = 1) -> str:
    """91.46 → '91,5%'; None → '—'."""
    if value is None:
        return EMPTY
    return f"{value:.{digits}f}".replace(".", ",") + "%"


def duration(seconds: float | None) -> str:
    """252 → '4 phút 12 giây'; 45 → '45 giây'; 3900 → '1 giờ 5 phút'; None → '—'."""
    if seconds is None:
        return EMPTY
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    if minutes:
        return f"{minutes} phút {secs} giây" if secs else f"{minutes} phút"
    return f"{secs} giây"


def date_time(at: float | None) -> str:
    """Epoch seconds → '22/11/2026 14:05' in Vietnam time."""
    if not at:
        return EMPTY
    return datetime.fromtimestamp(at, ICT).strftime("%d/%m/%Y %H:%M")


def day(at: float | None) -> str:
    """Epoch seconds → '22/11/2026' in Vietnam time."""
    if not at:
        return EMPTY
    return datetime.fromtimestamp(at, ICT).strftime("%d/%m/%Y")


def label(mapping: dict[str, str], value: str) -> str:
    """A known code's Vietnamese label, or the code itself ('không rõ' when empty)."""
    return mapping.get(value, value) if value else "không rõ"
