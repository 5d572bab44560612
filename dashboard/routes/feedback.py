"""Residents' feedback: the staff list with its filters, acknowledgements with a public reply, and the public page."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from common.records import RATINGS
from dashboard import charts, formatting
from dashboard.metrics import (
    ACK_STATUSES,
    filter_feedback,
    months_ending,
    parse_period,
    satisfaction_target,
    trend,
)
from dashboard.pages import flash
from dashboard.routes.deps import (
    CheckedForm,
    LabelsDep,
    PagesDep,
    SettingsDep,
    StaffUser,
    StoreDep,
    current_user,
)
from dashboard.routes.params import period_choices, period_or_default, safe_next
from dashboard.store import MAX_REPLY_CHARS

router = APIRouter()

PAGE_SIZE = 50
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


@router.get("/public", response_class=HTMLResponse)
def public(request: Request, store: StoreDep, settings: SettingsDep, pages: PagesDep) -> Response:
    """The public page: monthly satisfaction and the commune's replies (no login)."""
    current_user(request)  # a logged-in staff member keeps the menu here
    months = months_ending(parse_period(None), 12)
    records = [i.record for i in store.feedback(months[0].since, months[-1].until, details=False)]
    monthly = trend(records, months)
    chart = charts.line_chart(
        "Tỷ lệ hài lòng theo tháng", [(f"{p.start.month}/{p.start.year % 100:02d}", s.percent) for p, s in monthly],
        [satisfaction_target(p.year) for p in months], empty_message="Chưa có đánh giá nào")
    return pages.render(request, "public.html", monthly=monthly[::-1], chart=chart,
                        acknowledged=store.acknowledged(100),
                        pending=store.unacknowledged_count(time.time() - settings.retention_days * 86400),
                        target=satisfaction_target)


@router.get("/feedback", response_class=HTMLResponse)
def feedback_list(request: Request, user: StaffUser, store: StoreDep, labels: LabelsDep, pages: PagesDep,
                  month: str = "", rating: str = "", channel: str = "", topic: str = "", ack: str = "", q: str = "",
                  page: int = 1) -> Response:
    """The feedback of a period, filtered, newest first, a page at a time."""
    messages: list[str] = []
    period = period_or_default(month, messages)
    items = store.feedback(period.since, period.until)
    channels = sorted({i.record.channel for i in items if i.record.channel})
    topics = sorted({i.record.topic for i in items if i.record.topic}, key=labels.topic)
    rating = rating if rating in (*RATINGS, "none") else ""
    ack = ack if ack in ("yes", "no") else ""
    shown = filter_feedback(items, rating=rating, channel=channel, topic=topic, acked=ack, query=q[:100])
    shown.reverse()  # newest first
    pages_count = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(1, page), pages_count)
    filters = {"month": period.key, "rating": rating, "channel": channel, "topic": topic, "ack": ack, "q": q}
    query = urlencode({k: v for k, v in filters.items() if v})
    return pages.render(request, "feedback.html", period=period,
                        items=shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], total=len(items), matched=len(shown),
                        page=page, pages=pages_count, filters=filters, query=query, channels=channels, topics=topics,
                        ratings=RATINGS, messages=messages, choices=period_choices(time.time()),
                        back=f"/feedback?{query}&page={page}", max_reply=MAX_REPLY_CHARS)


@router.post("/feedback/{entry_id}/ack")
def acknowledge(request: Request, entry_id: str, user: StaffUser, form: CheckedForm, store: StoreDep) -> Response:
    """Mark a feedback item received or acted on, with the reply shown on the public page."""
    back = safe_next(str(form.get("back") or ""), "/feedback")
    if not back.startswith("/feedback"):
        back = "/feedback"
    status = str(form.get("status") or "")
    reply = str(form.get("reply") or "").strip()
    if not ENTRY_ID.match(entry_id) or status not in ACK_STATUSES:
        flash(request, "Yêu cầu không hợp lệ: hãy chọn \"Đã tiếp nhận\" hoặc \"Đã xử lý\".", "error")
    elif status == "acted" and not reply:
        flash(request, "Khi đánh dấu \"Đã xử lý\", vui lòng viết vài dòng trả lời cho người dân.", "error")
    elif len(reply) > MAX_REPLY_CHARS:
        flash(request, f"Câu trả lời dài quá {MAX_REPLY_CHARS} ký tự, vui lòng rút gọn.", "error")
    elif not store.acknowledge(entry_id, status, reply, user):
        flash(request, "Không tìm thấy phản hồi này (có thể đã bị xoá).", "error")
    else:
        flash(request, f"Đã lưu: {formatting.ACK_LABELS[status]}. Nội dung trả lời hiện trên trang công khai.")
    return RedirectResponse(f"{back}#fb-{entry_id}" if ENTRY_ID.match(entry_id) else back, status_code=303)
