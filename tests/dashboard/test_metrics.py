"""The dashboard's figures, checked against numbers worked out by hand."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from dashboard_support import comment, rating

from dashboard.metrics import (
    ICT,
    Ack,
    Entry,
    FeedbackItem,
    build_report,
    completion,
    conversations,
    filter_feedback,
    funnels,
    handoff_stats,
    knowledge_gaps,
    month_period,
    months_ending,
    parse_period,
    question_terms,
    runs_started_in,
    satisfaction,
    satisfaction_by,
    satisfaction_target,
    trend,
    unacknowledged,
    walkthrough_runs,
    weeks_ending,
)


def ts(*args: int) -> float:
    """Epoch seconds of a Vietnam-time moment."""
    return datetime(*args, tzinfo=ICT).timestamp()  # type: ignore[misc]


def entry(at: float, **fields: object) -> Entry:
    return Entry(f"{int(at * 1000)}-0", at, {k: str(v) for k, v in fields.items()})


# --- periods -------------------------------------------------------------------------------------------------


def test_a_month_is_in_vietnam_time() -> None:
    nov = parse_period("2026-11")
    assert nov.key == "2026-11" and nov.label == "tháng 11/2026"
    assert nov.start == datetime(2026, 11, 1, tzinfo=ICT) and nov.end == datetime(2026, 12, 1, tzinfo=ICT)
    # 23:30 on 31 October in Vietnam is 16:30 UTC: it belongs to October, not November
    assert not nov.contains(ts(2026, 10, 31, 23, 30)) and nov.contains(ts(2026, 11, 1, 0, 0))
    assert not nov.contains(ts(2026, 12, 1)) and nov.contains(ts(2026, 11, 30, 23, 59))
    assert parse_period("2026-12").end == datetime(2027, 1, 1, tzinfo=ICT)


def test_quarters_and_the_default_period() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.end, q4.label) == (datetime(2026, 10, 1, tzinfo=ICT), datetime(2027, 1, 1, tzinfo=ICT),
                                            "quý 4/2026")
    assert parse_period("", now=datetime(2026, 3, 5, tzinfo=ICT)).key == "2026-03"


@pytest.mark.parametrize("value", ["2026-13", "2026-Q5", "2026-1", "nov", "2026-11; drop", "1999-01"])
def test_bad_periods_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_period(value)


def test_months_and_weeks_ending() -> None:
    assert [p.key for p in months_ending(month_period(2026, 2), 4)] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    weeks = weeks_ending(datetime(2026, 11, 25, 10, tzinfo=ICT), 3)  # a Wednesday
    assert [w.start.day for w in weeks] == [9, 16, 23] and all(w.start.weekday() == 0 for w in weeks)
    assert weeks[-1].label == "23/11"


@pytest.mark.parametrize(("year", "target"), [(2024, 90), (2025, 90), (2026, 95), (2030, 95)])
def test_satisfaction_target(year: int, target: int) -> None:
    assert satisfaction_target(year) == target


# --- satisfaction --------------------------------------------------------------------------------------------


def test_satisfaction_is_hai_long_over_all_ratings() -> None:
    at = ts(2026, 11, 3)
    records = [rating(at)] * 7 + [rating(at, "binh_thuong")] * 2 + [rating(at, "chua_hai_long")] + [comment(at)] * 3
    result = satisfaction(records)
    assert result.counts == {"hai_long": 7, "binh_thuong": 2, "chua_hai_long": 1}
    assert result.total == 10 and result.satisfied == 7
    assert result.percent == pytest.approx(70.0)  # comments do not count
    assert satisfaction([comment(at)]).percent is None


def test_satisfaction_by_group_busiest_first() -> None:
    at = ts(2026, 11, 3)
    records = [rating(at, channel="zalo"), rating(at, "chua_hai_long", channel="zalo"), rating(at, channel="zalo"),
               rating(at, channel="web"), comment(at, channel="telegram")]
    groups = satisfaction_by(records, lambda r: r.channel)
    assert [(k, s.total, round(s.percent or 0, 1)) for k, s in groups] == [("zalo", 3, 66.7), ("web", 1, 100.0)]


def test_trend_puts_each_rating_in_its_month() -> None:
    months = months_ending(month_period(2026, 11), 3)
    records = [rating(ts(2026, 9, 30, 23)), rating(ts(2026, 10, 1, 1), "chua_hai_long"), rating(ts(2026, 10, 15)),
               rating(ts(2026, 11, 1))]
    assert [(p.key, s.total, s.percent) for p, s in trend(records, months)] == [
        ("2026-09", 1, 100.0), ("2026-10", 2, 50.0), ("2026-11", 1, 100.0)]


# --- feedback list -------------------------------------------------------------------------------------------


def items() -> list[FeedbackItem]:
    at = ts(2026, 11, 3)
    ack = Ack("acted", "Xã đã sửa hướng dẫn", "canbo", at + 100)
    return [
        FeedbackItem("1-0", rating(at)),
        FeedbackItem("2-0", comment(at, topic="dvc-login"), "Chữ nhỏ quá, khó đọc", ack),
        FeedbackItem("3-0", comment(at, channel="zalo"), "Không nhận được mã OTP"),
        FeedbackItem("4-0", rating(at, "chua_hai_long", channel="web")),
    ]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, ["1-0", "2-0", "3-0", "4-0"]),
    ({"rating": "chua_hai_long"}, ["4-0"]),
    ({"rating": "none"}, ["2-0", "3-0"]),
    ({"channel": "zalo"}, ["1-0", "3-0"]),
    ({"topic": "dvc-login"}, ["1-0", "2-0", "4-0"]),
    ({"acked": "yes"}, ["2-0"]),
    ({"acked": "no"}, ["3-0"]),  # ratings never wait for an acknowledgement
    ({"query": "chu nho"}, ["2-0"]),  # without diacritics still finds "Chữ nhỏ"
    ({"query": "OTP", "channel": "zalo"}, ["3-0"]),
    ({"query": "sửa hướng"}, ["2-0"]),  # the public reply is searched too
    ({"query": "không có câu này"}, []),
])
def test_filter_feedback(filters: dict[str, str], expected: list[str]) -> None:
    assert [i.id for i in filter_feedback(items(), **filters)] == expected


def test_only_comments_wait_for_an_acknowledgement() -> None:
    assert unacknowledged(items()) == 1


# --- conversations, walkthroughs, handoffs -------------------------------------------------------------------


def test_conversations_are_distinct_resident_days_in_vietnam_time() -> None:
    entries = [
        entry(ts(2026, 11, 3, 9), kind="answer", resident="a"),
        entry(ts(2026, 11, 3, 21), kind="clarify", resident="a"),  # same day: same conversation
        entry(ts(2026, 11, 4, 0, 30), kind="answer", resident="a"),  # after midnight in Vietnam: a new one
        entry(ts(2026, 11, 3, 9), kind="answer", resident="b"),
        entry(ts(2026, 11, 3, 9), kind="answer", resident=""),  # no resident: not counted
    ]
    assert conversations(entries) == 3


def walk_entries() -> list[Entry]:
    """Three runs of dvc-login (4 steps) and one of vneid-activate, worked through by hand below."""
    s1, s2, s3, s4 = ts(2026, 11, 3, 9), ts(2026, 11, 3, 10), ts(2026, 11, 5, 9), ts(2026, 10, 31, 23)
    wt = {"kind": "walkthrough", "guide_id": "dvc-login", "total": 4}
    return [
        # run 1 (resident a): finished in 240 s, stuck once at step 2
        entry(s1, event="started", step=1, started_at=s1, resident="a", **wt),
        entry(s1 + 60, event="step", step=2, started_at=s1, resident="a", **wt),
        entry(s1 + 90, event="stuck", step=2, started_at=s1, resident="a", **wt),
        entry(s1 + 150, event="step", step=3, started_at=s1, resident="a", **wt),
        entry(s1 + 200, event="step", step=4, started_at=s1, resident="a", **wt),
        entry(s1 + 240, event="finished", step=4, started_at=s1, duration_s=240, resident="a", **wt),
        # run 2 (resident b): stopped at step 2 after asking for help twice
        entry(s2, event="started", step=1, started_at=s2, resident="b", **wt),
        entry(s2 + 50, event="step", step=2, started_at=s2, resident="b", **wt),
        entry(s2 + 70, event="stuck", step=2, started_at=s2, resident="b", **wt),
        entry(s2 + 99, event="stuck", step=2, started_at=s2, resident="b", **wt),
        # run 3 (resident a again, another day): finished in 600 s
        entry(s3, event="started", step=1, started_at=s3, resident="a", **wt),
        entry(s3 + 600, event="finished", step=4, started_at=s3, duration_s=600, resident="a", **wt),
        # run 4: started in October (not in November's figures), abandoned in November
        entry(s4, event="started", step=1, started_at=s4, resident="c", guide_id="vneid-activate", kind="walkthrough",
              total=7),
        entry(s4 + 7200, event="abandoned", step=3, started_at=s4, resident="c", guide_id="vneid-activate",
              kind="walkthrough", total=7),
    ]


def test_walkthrough_completion_and_median_duration() -> None:
    runs = runs_started_in(walkthrough_runs(walk_entries()), month_period(2026, 11))
    assert len(runs) == 3
    result = completion(runs)
    assert (result.started, result.finished, result.abandoned) == (3, 2, 0)
    assert result.rate == pytest.approx(200 / 3)
    assert result.median_duration_s == 420.0  # median of 240 and 600
    assert result.within_target is False  # 7 minutes > 5 minutes
    october = completion(runs_started_in(walkthrough_runs(walk_entries()), month_period(2026, 10)))
    assert (october.started, october.finished, october.abandoned, october.median_duration_s) == (1, 0, 1, None)


def test_funnel_counts_reached_stopped_and_stuck_per_step() -> None:
    runs = runs_started_in(walkthrough_runs(walk_entries()), month_period(2026, 11))
    (login,) = funnels(runs)
    assert (login.guide_id, login.started, login.finished) == ("dvc-login", 3, 2)
    assert [(s.step, s.reached, s.stopped, s.stuck) for s in login.steps] == [
        (1, 3, 0, 0), (2, 3, 1, 3), (3, 2, 0, 0), (4, 2, 0, 0)]
    assert login.worst_step is not None and login.worst_step.step == 2


def test_handoff_first_reply_median_per_ticket() -> None:
    t0 = ts(2026, 11, 10, 9)
    events = [
        entry(t0, event="opened", ticket="T1"), entry(t0 + 60, event="claimed", ticket="T1"),
        entry(t0 + 120, event="first_reply", ticket="T1"), entry(t0 + 500, event="first_reply", ticket="T1"),
        entry(t0 + 900, event="closed", ticket="T1"),
        entry(t0 + 10, event="opened", ticket="T2"), entry(t0 + 610, event="first_reply", ticket="T2"),
        entry(t0 + 20, event="opened", ticket="T3"), entry(t0 + 920, event="reminded", ticket="T3"),
        entry(ts(2026, 10, 31, 22), event="opened", ticket="T0"),  # October
        entry(t0, event="first_reply", ticket="T0"),
        entry(t0, event="first_reply", ticket="orphan"),  # never opened: ignored
    ]
    stats = handoff_stats(events, month_period(2026, 11))
    assert (stats.opened, stats.claimed, stats.replied, stats.closed) == (3, 1, 2, 1)
    assert stats.median_first_reply_s == 360.0  # median of 120 (the first reply counts) and 600
    assert handoff_stats([], month_period(2026, 11)).median_first_reply_s is None


# --- knowledge gaps ------------------------------------------------------------------------------------------


def test_question_terms_drop_function_words_and_fold() -> None:
    assert question_terms("Làm sao để đổi bằng lái xe ạ?") == {"doi", "bang", "lai", "xe"}


def test_knowledge_gaps_group_similar_questions_biggest_first() -> None:
    at = ts(2026, 11, 3)
    asked = [
        ("clarify", "đổi bằng lái xe ở đâu", ["dvc-submit"]),
        ("clarify", "đổi bằng lái xe ở đâu", ["dvc-submit", "dvc-login"]),
        ("out_of_scope", "muốn đổi bằng lái xe máy", []),
        ("clarify", "doi bang lai xe", ["dvc-submit"]),
        ("out_of_scope", "giá vàng hôm nay", []),
        ("clarify", "cấp lại sổ đỏ", ["certified-copy"]),
        ("out_of_scope", "cap lai so do bi mat", []),
    ]
    entries = [entry(at + i, kind=k, question=q, candidates=json.dumps(c)) for i, (k, q, c) in enumerate(asked)]
    entries.append(entry(at, kind="answer", guide_id="dvc-login"))  # answered: not a gap
    groups = knowledge_gaps(entries)
    assert [(g.example, g.count, g.clarify, g.out_of_scope) for g in groups] == [
        ("đổi bằng lái xe ở đâu", 4, 3, 1), ("cấp lại sổ đỏ", 2, 1, 1), ("giá vàng hôm nay", 1, 0, 1)]
    assert groups[0].top_candidates == ["dvc-submit", "dvc-login"]
    assert groups[0].questions["đổi bằng lái xe ở đâu"] == 2


def test_a_no_guide_reply_is_a_knowledge_gap_and_a_refusal_is_not() -> None:
    at = ts(2026, 11, 3)
    entries = [entry(at, kind="no_guide", question="tách thửa đất làm ở đâu", candidates="[]"),
               entry(at + 1, kind="no_guide", question="tach thua dat o dau", candidates="[]"),
               entry(at + 2, kind="sensitive", question="bầu cho ai", candidates="[]")]
    groups = knowledge_gaps(entries)
    assert [(g.example, g.count, g.out_of_scope) for g in groups] == [("tách thửa đất làm ở đâu", 2, 2)]


# --- the report ----------------------------------------------------------------------------------------------


def test_build_report_keeps_only_the_period() -> None:
    nov = month_period(2026, 11)
    feedback = [FeedbackItem("1-0", rating(ts(2026, 11, 2))), FeedbackItem("2-0", rating(ts(2026, 10, 2))),
                FeedbackItem("3-0", rating(ts(2026, 11, 2), "binh_thuong")), FeedbackItem("4-0", comment(ts(2026, 11, 9)))]
    report = build_report(nov, feedback, walk_entries(), [entry(ts(2026, 11, 9), event="opened", ticket="T9")])
    assert report.satisfaction.total == 2 and report.satisfaction.percent == 50.0
    assert report.target == 95 and report.meets_target is False
    assert report.unacknowledged == 1 and len(report.feedback) == 3
    assert report.completion.started == 3 and report.handoffs.opened == 1
    assert report.conversations == 4  # a on 3/11, b on 3/11, a on 5/11, and c (abandoned on 1/11 at 1:00)
