"""Exports: the figures of a commune report in CSV and XLSX, and no spreadsheet formulas from residents' text."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
from dashboard_support import comment, rating

from dashboard.exports import filename, report_tables, to_csv, to_xlsx
from dashboard.metrics import ICT, Ack, Entry, FeedbackItem, build_report, month_period


def report():  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 5, 10, tzinfo=ICT).timestamp()
    feedback = [FeedbackItem(f"{i}-0", rating(at + i, r, topic=t, channel=c)) for i, (r, t, c) in enumerate([
        ("hai_long", "dvc-login", "zalo"), ("hai_long", "dvc-login", "zalo"), ("hai_long", "vneid-activate", "web"),
        ("binh_thuong", "dvc-login", "zalo"), ("chua_hai_long", "vneid-activate", "web")])]
    feedback.append(FeedbackItem("9-0", comment(at + 9), "=HYPERLINK(\"http://x\")",
                                 Ack("acted", "Đã sửa", "canbo", at + 3600)))
    feedback.append(FeedbackItem("10-0", comment(at + 10), "-2+3 sai lệ phí"))
    walk = [Entry("1-0", at, {"kind": "walkthrough", "event": "started", "guide_id": "dvc-login", "started_at": str(at),
                              "resident": "a", "step": "1", "total": "4"}),
            Entry("2-0", at + 180, {"kind": "walkthrough", "event": "finished", "guide_id": "dvc-login",
                                    "started_at": str(at), "resident": "a", "step": "4", "total": "4",
                                    "duration_s": "180"})]
    handoffs = [Entry("3-0", at, {"event": "opened", "ticket": "T1"}),
                Entry("4-0", at + 300, {"event": "first_reply", "ticket": "T1"})]
    return build_report(month_period(2026, 11), feedback, walk, handoffs)


def summary(tables):  # type: ignore[no-untyped-def]
    return {row[0]: row[1] for row in tables[0].rows}


def test_report_tables_hold_the_commune_figures() -> None:
    tables = report_tables(report(), "Xã Ví Dụ", topic=lambda t: {"dvc-login": "Đăng nhập"}.get(t, t))
    assert [t.title for t in tables] == ["Tổng hợp", "Theo chủ đề", "Theo kênh", "Theo xã", "Phản hồi"]
    figures = summary(tables)
    assert figures["Kỳ báo cáo"] == "tháng 11/2026" and figures["Xã"] == "Xã Ví Dụ"
    assert figures["Tỷ lệ hài lòng (%)"] == 60.0  # 3 of 5
    assert figures["Mục tiêu tỷ lệ hài lòng (%)"] == 95 and figures["Đạt mục tiêu"] == "Không"
    assert (figures["Số đánh giá"], figures["Hài lòng"], figures["Bình thường"], figures["Chưa hài lòng"]) == (5, 3, 1, 1)
    assert figures["Số góp ý"] == 2 and figures["Góp ý chưa tiếp nhận"] == 1
    assert figures["Tỷ lệ hoàn thành (%)"] == 100.0 and figures["Thời gian hoàn thành trung vị (phút)"] == 3.0
    assert figures["Số lần chuyển cho người hỗ trợ"] == 1
    assert figures["Thời gian trung vị đến câu trả lời đầu tiên của người hỗ trợ (phút)"] == 5.0
    by_topic = tables[1].rows
    assert by_topic[0] == ["Đăng nhập", "dvc-login", 3, 2, 1, 0, 66.7]
    feedback = tables[4].rows
    assert len(feedback) == 7
    acked = next(r for r in feedback if r[0] == "9-0")
    assert acked[8:11] == ["Đã xử lý", "Đã sửa", "canbo"]
    assert next(r for r in feedback if r[0] == "10-0")[8] == "Chưa tiếp nhận"


def test_csv_opens_in_excel_and_neutralises_formulas() -> None:
    data = to_csv(report_tables(report()))
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Vietnamese correctly
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Tổng hợp"] and rows[1] == ["Chỉ số", "Giá trị"]
    assert ["Tỷ lệ hài lòng (%)", "60.0"] in rows
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3 sai lệ phí" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


def test_xlsx_has_a_sheet_per_table_and_no_formulas() -> None:
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report_tables(report()))))
    assert book.sheetnames == ["Tổng hợp", "Theo chủ đề", "Theo kênh", "Theo xã", "Phản hồi"]
    figures = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert figures["Tỷ lệ hài lòng (%)"] == 60.0 and figures["Số đánh giá"] == 5
    cells = [c for row in book["Phản hồi"].iter_rows() for c in row]
    formula = next(c for c in cells if c.value == '=HYPERLINK("http://x")')
    assert formula.data_type == "s"  # stored as text, never evaluated


def test_filename() -> None:
    assert filename("2026-Q4", "xlsx") == "bao-cao-2026-Q4.xlsx"
