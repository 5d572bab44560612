"""The staff figure pages: the overview (satisfaction and the period's figures), knowledge gaps, walkthrough funnels."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dashboard import charts, formatting
from dashboard.metrics import (
    ICT,
    TARGET_DURATION_S,
    build_report,
    funnels,
    knowledge_gaps,
    months_ending,
    parse_period,
    runs_started_in,
    satisfaction_target,
    trend,
    walkthrough_runs,
    weeks_ending,
)
from dashboard.routes.deps import LabelsDep, PagesDep, StaffUser, StoreDep
from dashboard.routes.params import period_choices, period_or_default

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: StaffUser, store: StoreDep, labels: LabelsDep, pages: PagesDep,
             month: str = "") -> Response:
    """The month's figures with monthly and weekly satisfaction and the breakdowns by topic, channel and commune."""
    messages: list[str] = []
    period = period_or_default(month, messages)
    now = time.time()
    months = months_ending(parse_period(f"{period.end - timedelta(days=1):%Y-%m}"), 12)
    weeks = weeks_ending(datetime.fromtimestamp(min(now, period.until - 1), ICT), 12)
    history = [i.record for i in store.feedback(min(months[0].since, weeks[0].since),
                                                max(period.until, weeks[-1].until), details=False)]
    report = build_report(period, store.feedback(period.since, period.until),
                          store.analytics(period.since, period.until + 86400),
                          store.handoffs(period.since, period.until + 7 * 86400))
    monthly = trend(history, months)
    weekly = trend(history, weeks)

    def bars(groups: list[Any], name: Any) -> list[charts.Bar]:
        return [charts.Bar(name(key), s.percent or 0.0, f"{formatting.percent(s.percent)} ({s.total} đánh giá)",
                           (s.percent or 0) >= report.target) for key, s in groups]

    context: dict[str, Any] = {
        "period": period, "report": report, "messages": messages, "choices": period_choices(now),
        "target_duration": TARGET_DURATION_S,
        "monthly_chart": charts.line_chart(
            "Tỷ lệ hài lòng theo tháng", [(f"{p.start.month}/{p.start.year % 100:02d}", s.percent)
                                          for p, s in monthly],
            [satisfaction_target(p.year) for p in months], empty_message="Chưa có đánh giá nào"),
        "weekly_chart": charts.line_chart(
            "Tỷ lệ hài lòng theo tuần (tuần bắt đầu ngày)", [(p.label, s.percent) for p, s in weekly],
            [satisfaction_target(p.year) for p in weeks], empty_message="Chưa có đánh giá nào"),
        "topic_chart": charts.bar_chart("Tỷ lệ hài lòng theo chủ đề", bars(report.by_topic, labels.topic),
                                        100, report.target, width=900, label_width=300,
                                        empty_message="Chưa có đánh giá trong kỳ này"),
        "channel_chart": charts.bar_chart("Tỷ lệ hài lòng theo kênh", bars(report.by_channel, labels.channel),
                                          100, report.target, width=520, label_width=130,
                                          empty_message="Chưa có đánh giá trong kỳ này"),
        "commune_chart": charts.bar_chart("Tỷ lệ hài lòng theo xã", bars(report.by_commune, labels.commune),
                                          100, report.target, width=520, label_width=130,
                                          empty_message="Chưa có đánh giá trong kỳ này"),
        "monthly": monthly[::-1], "weekly": weekly[::-1],
    }
    return pages.render(request, "overview.html", **context)


@router.get("/gaps", response_class=HTMLResponse)
def gaps(request: Request, user: StaffUser, store: StoreDep, pages: PagesDep, month: str = "") -> Response:
    """The questions the assistant could not answer in a period, grouped."""
    messages: list[str] = []
    period = period_or_default(month, messages)
    entries = store.analytics(period.since, period.until)
    groups = knowledge_gaps(entries)
    answered = sum(1 for e in entries if e.get("kind") in ("answer", "procedure"))
    unanswered = sum(g.count for g in groups)
    return pages.render(request, "gaps.html", period=period, groups=groups[:60], more=max(0, len(groups) - 60),
                        answered=answered, unanswered=unanswered, messages=messages,
                        choices=period_choices(time.time()))


@router.get("/funnel", response_class=HTMLResponse)
def funnel(request: Request, user: StaffUser, store: StoreDep, labels: LabelsDep, pages: PagesDep,
           month: str = "") -> Response:
    """Per guide, how far the walkthroughs started in a period got, with a chart of each."""
    messages: list[str] = []
    period = period_or_default(month, messages)
    runs = runs_started_in(walkthrough_runs(store.analytics(period.since, period.until + 86400)), period)
    guides = funnels(runs)
    views = []
    for g in guides:
        chart = charts.bar_chart(
            f"Số lượt đi tới từng bước: {labels.topic(g.guide_id)}",
            [charts.Bar(f"Bước {s.step}", s.reached,
                        f"{s.reached} lượt; dừng {s.stopped}; kẹt {s.stuck}", None) for s in g.steps],
            maximum=max(1, g.started), label_width=90)
        views.append({"funnel": g, "chart": chart,
                      "steps": [(s, labels.step(g.guide_id, s.step)) for s in g.steps]})
    return pages.render(request, "funnel.html", period=period, views=views, messages=messages,
                        choices=period_choices(time.time()), started=len(runs),
                        finished=sum(r.finished for r in runs))
