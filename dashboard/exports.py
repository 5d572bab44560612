"""The commune report of a month or quarter as CSV or XLSX: the figures first, then the feedback list.

Both formats hold the same tables (built once by report_tables). Numbers stay numbers (percentages rounded to one
decimal, durations in minutes); free text that a spreadsheet would run as a formula is written as plain text.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dashboard.formatting import ACK_LABELS, KIND_LABELS, RATING_LABELS, date_time
from dashboard.metrics.report import Report
from dashboard.metrics.satisfaction import Satisfaction
from dashboard.metrics.walkthroughs import TARGET_DURATION_S

Cell = str | int | float | None
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """One table of the report: a sheet in XLSX, a block in CSV."""

    title: str
    header: list[str]
    rows: list[list[Cell]]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Có" if value else "Không")


def _breakdown(title: str, first: str, groups: list[tuple[str, Satisfaction]],
               name: Callable[[str], str]) -> Table:
    rows: list[list[Cell]] = [
        [name(key), key, s.total, s.counts["hai_long"], s.counts["binh_thuong"], s.counts["chua_hai_long"],
         _pct(s.percent)] for key, s in groups]
    return Table(title, [first, "Mã", "Số đánh giá", "Hài lòng", "Bình thường", "Chưa hài lòng", "Tỷ lệ hài lòng (%)"],
                 rows)


def report_tables(report: Report, commune_name: str = "", topic: Callable[[str], str] = str,
                  channel: Callable[[str], str] = str, commune: Callable[[str], str] = str,
                  now: float | None = None) -> list[Table]:
    """The tables of a commune report."""
    s, c, h = report.satisfaction, report.completion, report.handoffs
    comments = sum(1 for f in report.feedback if f.record.kind == "comment")
    summary: list[list[Cell]] = [
        ["Kỳ báo cáo", report.period.label],
        ["Xã", commune_name],
        ["Tỷ lệ hài lòng (%)", _pct(s.percent)],
        ["Mục tiêu tỷ lệ hài lòng (%)", report.target],
        ["Đạt mục tiêu", _yes_no(report.meets_target)],
        ["Số đánh giá", s.total],
        ["Hài lòng", s.counts["hai_long"]],
        ["Bình thường", s.counts["binh_thuong"]],
        ["Chưa hài lòng", s.counts["chua_hai_long"]],
        ["Số góp ý", comments],
        ["Góp ý chưa tiếp nhận", report.unacknowledged],
        ["Số cuộc trò chuyện (người dân × ngày)", report.conversations],
        ["Hướng dẫn từng bước: số lượt bắt đầu", c.started],
        ["Hướng dẫn từng bước: số lượt hoàn thành", c.finished],
        ["Tỷ lệ hoàn thành (%)", _pct(c.rate)],
        ["Thời gian hoàn thành trung vị (phút)", _minutes(c.median_duration_s)],
        ["Mục tiêu thời gian (phút)", TARGET_DURATION_S // 60],
        ["Số lần chuyển cho người hỗ trợ", h.opened],
        ["Số lần đã có người trả lời", h.replied],
        ["Thời gian trung vị đến câu trả lời đầu tiên của người hỗ trợ (phút)", _minutes(h.median_first_reply_s)],
        ["Ngày lập báo cáo", date_time(now or time.time())],
    ]
    feedback_rows: list[list[Cell]] = []
    for item in report.feedback:
        r, ack = item.record, item.ack
        feedback_rows.append([
            item.id, date_time(r.at), KIND_LABELS.get(r.kind, r.kind), RATING_LABELS.get(r.rating, r.rating),
            topic(r.topic) if r.topic else "", channel(r.channel), commune(r.commune),
            item.comment if item.comment is not None else ("" if r.kind == "rating" else "(đã xoá theo thời hạn lưu)"),
            ACK_LABELS[ack.status] if ack else ("Chưa tiếp nhận" if item.needs_ack else ""),
            ack.reply if ack else "", ack.by if ack else "",
            date_time(ack.at) if ack else "",
        ])
    return [
        Table("Tổng hợp", ["Chỉ số", "Giá trị"], summary),
        _breakdown("Theo chủ đề", "Chủ đề", report.by_topic, topic),
        _breakdown("Theo kênh", "Kênh", report.by_channel, channel),
        _breakdown("Theo xã", "Xã", report.by_commune, commune),
        Table("Phản hồi", ["Mã", "Thời gian", "Loại", "Đánh giá", "Chủ đề", "Kênh", "Xã",
                           "Góp ý (đã che thông tin cá nhân)", "Trạng thái", "Trả lời công khai", "Cán bộ",
                           "Ngày tiếp nhận"], feedback_rows),
    ]


def _safe(value: Cell) -> Cell:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe (CSV)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(tables: list[Table]) -> bytes:
    """All tables in one CSV (UTF-8 with BOM so Excel shows Vietnamese), a title row and a blank line between."""
    out = io.StringIO()
    writer = csv.writer(out)
    for i, table in enumerate(tables):
        if i:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.header)
        for row in table.rows:
            writer.writerow(["" if v is None else _safe(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table, bold header, sensible column widths; formulas are never written."""
    book = Workbook()
    book.remove(book.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F2")
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(table.header)
        for cell in sheet[1]:
            cell.font, cell.fill = bold, fill
        widths = [len(h) for h in table.header]
        for r, row in enumerate(table.rows, start=2):
            for col, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=col, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
                    if len(value) > 60:
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
                widths[col - 1] = max(widths[col - 1], min(60, len(str(value or ""))))
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width + 2
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def filename(period_key: str, fmt: str) -> str:
    """bao-cao-2026-11.xlsx"""
    return f"bao-cao-{period_key}.{fmt}"
