"""The portal parser (`procedures/source.py`) against records checked by hand.

`tests/fixtures/procedures/expected.jsonl` was written by reading each source file in `sources/` (crawled JSON with
`raw_text` cut to 300 characters, or the portal's Word export), not by copying the parser's output. Conventions:
- ways: one per channel, the first row the source gives for it; the time is "" when the source gives none and the bare
  number when it gives no unit (unless the row's note spells it out); a fee is "free" only where the source says so
  for that way, "provincial" wherever the provincial council (HĐND) sets it, "unknown" for "Không có thông tin";
- documents: the source's cell text without the template file name, the count, the leading bullet ("- ", "+ ") and the
  trailing ";"; runs of spaces count as one; rows that are no paper ("Số lượng hồ sơ: …", "Không quy định.") are left
  out; groups are the distinct case titles in order ("Bao gồm" is none);
- legal_numbers: each referenced document's number once, in source order (the code cell, not numbers quoted in titles);
- names_district: where to go, the agency, the steps or a paper's name still send people to a district office.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from procedures.records import Fee, Procedure
from procedures.source import (
    clean,
    documents_of,
    legal_basis_of,
    parse_fee,
    parse_time,
    read_docx,
    read_json,
    split_documents_text,
    split_ways_text,
    to_record,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "procedures"
SOURCES = FIXTURES / "sources"
DATE = "2026-06-10"
EXPECTED = [json.loads(line) for line in (FIXTURES / "expected.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _space(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _number(entry: str) -> str:
    """The document number of a legal-basis entry ("Nghị định 23/2015/NĐ-CP" → "23/2015/NĐ-CP")."""
    return entry.rsplit(" ", 1)[-1]


def record_of(file: str) -> Procedure:
    """Read one fixture source the way the importer does."""
    path = SOURCES / file
    if file.endswith(".docx"):
        return to_record(read_docx(path, DATE, "fixture"))
    ministry = file.split("__", 1)[0]
    return to_record(read_json(json.loads(path.read_text(encoding="utf-8")), ministry, DATE, "fixture"))


def test_the_fixture_is_big_enough_and_checked_by_hand() -> None:
    files = [e["file"] for e in EXPECTED]
    assert len(files) == len(set(files)) >= 100
    assert sum(f.endswith(".docx") for f in files) >= 20
    assert all(e["checked_by"] == "hand" for e in EXPECTED)
    assert sorted(p.name for p in SOURCES.iterdir()) == sorted(files)
    assert sum(p.stat().st_size for p in SOURCES.iterdir()) < 2_000_000


@pytest.mark.parametrize("expected", EXPECTED, ids=[e["file"].rsplit(".", 1)[0] for e in EXPECTED])
def test_record_matches_the_hand_checked_source(expected: dict[str, Any]) -> None:
    record = record_of(expected["file"])
    problems: list[str] = []

    def check(what: str, actual: Any, wanted: Any) -> None:
        if actual == wanted:
            return
        if isinstance(actual, list) and isinstance(wanted, list) and len(actual) == len(wanted):
            for i, (got, want) in enumerate(zip(actual, wanted, strict=True)):
                if got != want:
                    problems.append(f"{what}[{i}]:\n    parser:   {got!r}\n    expected: {want!r}")
            return
        problems.append(f"{what}:\n    parser:   {actual!r}\n    expected: {wanted!r}")

    check("code", record.code, expected["code"])
    check("name", _space(record.name), _space(expected["name"]))
    check("levels", list(record.levels), expected["levels"])
    check("channels", [w.channel for w in record.ways], [w["channel"] for w in expected["ways"]])
    for way, want in zip(record.ways, expected["ways"], strict=False):
        check(f"{way.channel}: time", way.time, want["time"])
        check(f"{way.channel}: time_unit_missing", way.time_unit_missing, want["time"].isdigit())
        check(f"{way.channel}: fee kind ({way.fee.text!r})", way.fee.kind, want["fee_kind"])
        if want["fee_text_contains"] not in way.fee.text:
            problems.append(f"{way.channel}: fee text {way.fee.text!r} lacks {want['fee_text_contains']!r}")
    check("time_without_unit flag", "time_without_unit" in record.flags,
          any(w["time"].isdigit() for w in expected["ways"]))
    check("documents", [_space(d.name) for d in record.documents], [_space(n) for n in expected["documents"]])
    check("forms", [d.form for d in record.documents if d.form], expected["forms"])
    check("groups", list(dict.fromkeys(d.group for d in record.documents if d.group)), expected["groups"])
    check("legal numbers", [_number(entry) for entry in record.legal_basis], expected["legal_numbers"])
    check("names_district", "names_district" in record.flags, expected["names_district"])
    if problems:
        pytest.fail(f"{expected['file']} ({expected['note']})\n" + "\n".join(problems), pytrace=False)


# ---- the pieces, on the strings that broke them ---------------------------------------------------------------------

P = pytest.param


@pytest.mark.parametrize(("raw", "kind", "text"), [
    P("Miễn phí", "free", "Miễn phí", id="free"),
    P("Miễn phí(Không)", "free", "Miễn phí", id="free-bracket-khong"),
    P("Miễn phí(Không thu lệ phí đăng ký đối với tổ hợp tác.)", "free", "Miễn phí", id="free-bracket-khong-thu"),
    P("0 Đồng", "free", "Miễn phí", id="zero-dong"),
    P("Phí : không Đồng", "free", "Miễn phí", id="word-khong-dong"),
    P("Không có thông tin", "unknown", "", id="no-info"),
    P("Không có thông tin(1)", "unknown", "", id="no-info-footnote"),
    P("", "unknown", "", id="empty"),
    P("Phí :  Đồng", "unknown", "", id="word-label-without-amount"),
    P("Miễn phí(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh, thành phố trực thuộc Trung ương quyết định.)",
      "provincial", "Theo mức HĐND tỉnh quy định", id="free-label-but-hdnd"),
    P("150,000 Việt Nam Đồng(- Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định)",
      "provincial", "Theo mức HĐND tỉnh quy định", id="amount-but-hdnd"),
    P("50,000 Việt Nam Đồng(/di chúc)", "amount", "50.000 đồng (/di chúc)", id="comma-thousands"),
    P("70,000 VNĐ(70.000 đồng/Giấy chứng nhận)", "amount", "70.000 đồng (70.000 đồng/Giấy chứng nhận)", id="vnd"),
    P("Phí : 300.000 Đồng", "amount", "300.000 đồng", id="word-amount"),
    P("Phí : 215.000 Đồng ((không thu phí đối với trường hợp cấp sai))", "amount",
      "215.000 đồng (không thu phí đối với trường hợp cấp sai)", id="word-amount-double-bracket"),
    P("Miễn phí(Chưa quy định.)", "see_text", "Chưa quy định.", id="free-label-not-set"),
    P("Miễn phí(Trả phí cho đơn vị cung cấp dịch vụ.)", "see_text", "Trả phí cho đơn vị cung cấp dịch vụ.",
      id="free-label-but-pay-carrier"),
    P("Miễn phí(Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần.)", "see_text",
      "Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần.", id="free-label-with-amount-inside"),
    P("Phí :  Đồng (Theo quy định của Bộ Tài chính)", "see_text", "Theo quy định của Bộ Tài chính", id="word-explained"),
    P("Lệ phí : Không quy định Đồng", "see_text", "Không quy định", id="word-not-set"),
])
def test_parse_fee(raw: str, kind: str, text: str) -> None:
    assert parse_fee(raw) == Fee(kind, text)


@pytest.mark.parametrize(("raw", "note", "time", "missing"), [
    P("20 Ngày làm việc", "", "20 ngày làm việc", False, id="unit"),
    P("1 Giờ", "", "1 giờ", False, id="hours"),
    P("5", "", "5", True, id="bare"),
    P("0", "Ủy ban nhân dân cấp tỉnh quy định", "0", True, id="bare-zero"),
    P("7", "Trong thời hạn 07 ngày làm việc kể từ ngày nhận đủ hồ sơ", "7 ngày làm việc", False, id="note-spells-it"),
    P("10", "10 (mười) ngày làm việc kể từ ngày nhận", "10 ngày làm việc", False, id="note-with-words-in-brackets"),
    P("3", "Trong 30 ngày", "3", True, id="note-has-another-number"),
    P("", "", "", False, id="empty"),
    P("Không có thông tin", "", "", False, id="no-info"),
    P("khác", "", "khác", False, id="words"),
])
def test_parse_time(raw: str, note: str, time: str, missing: bool) -> None:
    assert parse_time(raw, note) == (time, missing)


HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"


@pytest.mark.parametrize(("text", "rows"), [
    P(HEADER + "Trực tuyến20 Ngày làm việcMiễn phíDịch vụ bưu chính20 Ngày làm việcMiễn phí",
      [["Trực tuyến", "20 Ngày làm việc", "Miễn phí", ""], ["Dịch vụ bưu chính", "20 Ngày làm việc", "Miễn phí", ""]],
      id="two-rows"),
    P(HEADER + "Trực tiếp1Miễn phí", [["Trực tiếp", "1", "Miễn phí", ""]], id="bare-time"),
    P(HEADER + "Trực tiếpKhông có thông tin50,000 Việt Nam Đồng(/di chúc)",
      [["Trực tiếp", "", "50,000 Việt Nam Đồng(/di chúc)", ""]], id="no-time"),
    P(HEADER + "Trực tiếp5 Ngày làm việcKhông có thông tinNộp tại Công an cấp xã",
      [["Trực tiếp", "5 Ngày làm việc", "Không có thông tin", "Nộp tại Công an cấp xã"]], id="note"),
    P(HEADER + "Trực tuyến1100 VNĐ(x)Trực tiếp1100,000 VNĐ(y)",
      [["Trực tuyến", "1", "100 VNĐ(x)", ""], ["Trực tiếp", "1", "100,000 VNĐ(y)", ""]], id="bare-time-glued-to-fee"),
    P(HEADER + "Trực tuyến140,000 Việt Nam Đồng(- Xe)", [["Trực tuyến", "1", "40,000 Việt Nam Đồng(- Xe)", ""]],
      id="bare-time-glued-to-grouped-fee"),
    P(HEADER + "Trực tiếp7 Ngày làm việc50,000 Việt Nam Đồng(a)- Trực tiếp tại trụ sở Công an cấp xã",
      [["Trực tiếp", "7 Ngày làm việc", "50,000 Việt Nam Đồng(a)", "Trực tiếp tại trụ sở Công an cấp xã"]],
      id="channel-word-inside-note"),
])
def test_split_ways_text(text: str, rows: list[list[str]]) -> None:
    assert split_ways_text(text) == rows


TABLE = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"


@pytest.mark.parametrize(("text", "rows"), [
    P("--" + TABLE + "Tờ khai theo mẫuMau 01.docx1 bản chínhBản sao giấy tờ tùy thân0 bản chính,1 bản sao",
      [("", ["Tờ khai theo mẫuMau 01.docx", "1 bản chính"]), ("", ["Bản sao giấy tờ tùy thân", "0 bản chính,1 bản sao"])],
      id="one-table"),
    P("* Giấy tờ phải nộp:" + TABLE + "Tờ khai1 bản chính* Giấy tờ phải xuất trình:" + TABLE + "- Giấy tờ tùy thân1 bản chính",
      [("Giấy tờ phải nộp", ["Tờ khai", "1 bản chính"]), ("Giấy tờ phải xuất trình", ["Giấy tờ tùy thân", "1 bản chính"])],
      id="groups"),
    P("--" + TABLE + "01 bản sao có chứng thực giấy khai sinh.0 bản chính,1 bản sao",
      [("", ["01 bản sao có chứng thực giấy khai sinh.", "0 bản chính,1 bản sao"])], id="count-words-inside-name"),
    P("--" + TABLE + "Giấy thu hồi do Công an cấp: 01 bản chính.1 bản chính",
      [("", ["Giấy thu hồi do Công an cấp: 01 bản chính.", "1 bản chính"])], id="count-words-before-full-stop"),
    P("--" + TABLE + "Văn bản đề nghị theo Mẫu số 131 bản chính,1 bản sao",
      [("", ["Văn bản đề nghị theo Mẫu số 13", "1 bản chính,1 bản sao"])], id="form-number-runs-into-count"),
    P("+ Trường hợp thông báo chấm dứt:" + TABLE + "(1) Biên bản họp1 bản chính",
      [("Trường hợp thông báo chấm dứt", ["(1) Biên bản họp", "1 bản chính"])], id="plus-bullet-group"),
])
def test_split_documents_text(text: str, rows: list[tuple[str, list[str]]]) -> None:
    assert split_documents_text(text) == rows


@pytest.mark.parametrize(("cell", "name", "form"), [
    P("Tờ khai theo mẫuMau 01.docx", "Tờ khai theo mẫu", "Mau 01.docx", id="capital-after-lowercase"),
    P("Đơn đề nghị theo mẫu quy địnhvăn bản đề nghị.docx", "Đơn đề nghị theo mẫu quy định", "văn bản đề nghị.docx",
      id="lowercase-file-after-lowercase"),
    P("Tờ khai ghi vào Sổ hộ tịch việc nuôi con nuôi theo mẫu;9..TKghivosccvichtchkhc.doc",
      "Tờ khai ghi vào Sổ hộ tịch việc nuôi con nuôi theo mẫu", "9..TKghivosccvichtchkhc.doc", id="after-semicolon"),
    P("Tờ khai (Mẫu CT01 ban hành kèm theo Thông tư số 53/2025/TT-BCA).1.MuCT01banhnhkmtheoThngts53.doc",
      "Tờ khai (Mẫu CT01 ban hành kèm theo Thông tư số 53/2025/TT-BCA).", "1.MuCT01banhnhkmtheoThngts53.doc",
      id="numbered-file-after-full-stop"),
    P("Đơn theo Mẫu 13 tại Phụ lục I kèm theo Nghị định số 23/2026/NĐ-CPMau13.docx",
      "Đơn theo Mẫu 13 tại Phụ lục I kèm theo Nghị định số 23/2026/NĐ-CP", "Mau13.docx", id="after-decree-code"),
    P("Bản khai (mẫu NA17)101-Mau A17 tam tru cho nguoi nuoc ngoai.doc", "Bản khai (mẫu NA17)",
      "101-Mau A17 tam tru cho nguoi nuoc ngoai.doc", id="after-bracket"),
    P("Phụ lục VIa ban hành kèm theo Nghị định số 08/2022/NĐ-CP).Nidungthamvn.docx",
      "Phụ lục VIa ban hành kèm theo Nghị định số 08/2022/NĐ-CP).", "Nidungthamvn.docx", id="roman-numeral-is-no-file"),
    P("Quy định về tập sự.Mẫu TP-TSCC-01a.docxMẫu TP-TSCC-01b.docx", "Quy định về tập sự.",
      "Mẫu TP-TSCC-01a.docx; Mẫu TP-TSCC-01b.docx", id="two-files"),
    P("Theo Hiện định GMSGMS - Gia hạn.docx", "Theo Hiện định GMSGMS - Gia hạn.docx", "", id="no-boundary"),
])
def test_documents_of_splits_the_template_file_off(cell: str, name: str, form: str) -> None:
    document, = documents_of([("", [cell, "1 bản chính"])])
    assert (document.name, document.form, document.originals) == (name, form, 1)


def test_documents_of_drops_rows_that_are_no_paper() -> None:
    rows = [("", ["Không quy định.", "1 bản chính"]), ("", ["* Số lượng hồ sơ: 01 (một) bộ.", "0 bản chính"]),
            ("Bao gồm", ["Đơn", "Bản chính: 1Bản sao: 0"])]
    assert [(d.name, d.group) for d in documents_of(rows)] == [("Đơn", "")]


@pytest.mark.parametrize(("text", "numbers"), [
    P("Luật Hộ tịch60/2014/QH13Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ123/2015/NĐ-CP",
      ["60/2014/QH13", "123/2015/NĐ-CP"], id="title-quotes-its-own-number"),
    P("Thông tư sửa đổi Thông tư số 85/2019/TT-BTC ngày 29/11/2019.106/2021/TT-BTC"
      "Nghị quyết số 66.7/2025/NQ-CP của Chính phủ66.7/2025/NQ-CP", ["106/2021/TT-BTC", "66.7/2025/NQ-CP"],
      id="title-quotes-another-number"),
    P("Luật 60/2014/QH1360/2014/QH13", ["60/2014/QH13"], id="title-is-the-number"),
    P("Luật 60/2014/QH1360/2014/QH13 sửa đổi, bổ sung luật.54/2026/NĐ-CP", ["60/2014/QH13", "54/2026/NĐ-CP"],
      id="next-title-lowercase-after-space"),
    P("Về cấp bản sao23/2015/NĐ-CPsửa đổi, bổ sung một số nghị định.18/2026/NĐ-CP", ["23/2015/NĐ-CP", "18/2026/NĐ-CP"],
      id="next-title-lowercase"),
    P("Luật Cư trú 202068/2020/QH14Luật số 43/2024/QH15 ngày 29/6/202443/2024/QH15", ["68/2020/QH14", "43/2024/QH15"],
      id="year-glued-to-code"),
    P("Luật Thú yNghị định số 35/2016/NĐ-CP106/2024/NĐ-CP106/2024/NĐ-CP", ["35/2016/NĐ-CP", "106/2024/NĐ-CP"],
      id="code-glued-to-a-number-title"),
    P("Nghị định số 07/2025/NĐ-CP280/2025/NĐ-CPThông tư 08.a/2010/TT-BTP08.a/2010/TT-BTP",
      ["280/2025/NĐ-CP", "08.a/2010/TT-BTP"], id="quoted-number-glued-to-code"),
    P("Quyết định số 09/2023/QĐ-TTg09/2023/QĐ-TTgNGHỊ ĐỊNH VỀ ĐẤT ĐAI145/2025/NĐ-CPhông tư mới43/2025/TT-BXD",
      ["09/2023/QĐ-TTg", "145/2025/NĐ-CP", "43/2025/TT-BXD"], id="issuer-TTg-caps-title-lost-T"),
    P("giai đoạn 2021-2025.01/2022/TT-BXDQuyết định số 90/QĐ-TTg ngày 18/01/2022;90/QĐ-TTg",
      ["01/2022/TT-BXD", "90/QĐ-TTg"], id="year-range-before-code"),
    P("Không có thông tinCơ quan thực hiệnTòa án nhân dân tối cao", [], id="none"),
])
def test_legal_basis_of_run_together_text(text: str, numbers: list[str]) -> None:
    assert [_number(entry) for entry in legal_basis_of("Tên văn bản pháp lýMã văn bản" + text, [])] == numbers


def test_legal_basis_of_docx_rows() -> None:
    rows = [["\n78/2002/NĐ-CP", "\nVề tín dụng đối với người nghèo", "\n04-10-2002", "\nChính phủ"],
            ["\nTT 10/2025/TT-BGDĐT", "\nThông tư số 10/2025/TT-BGDĐT", "", ""],
            ["\nNghị định 139/2025/NĐ-CP", "\nNghị định 139/2025/NĐ-CP", "", ""],
            ["\n1454/HD-NHCS", "\nVăn bản số 1454/HD-NHCS", "\n20-05-2014", "\nNgân hàng Chính sách xã hội"],
            ["\n78/2002/NĐ-CP", "\nNghị định 78/2002/NĐ-CP", "", ""]]
    assert legal_basis_of("", rows) == ("Nghị định 78/2002/NĐ-CP", "Thông tư 10/2025/TT-BGDĐT",
                                        "Nghị định 139/2025/NĐ-CP", "1454/HD-NHCS")


def test_a_code_cut_short_in_raw_text_does_not_replace_the_files_code() -> None:
    data = {"ma_thu_tuc": "2.001008", "ten_thu_tuc": "X", "raw_text": "Tên thủ tụcXMã thủ tục2.0"}
    assert read_json(data, "bo-tu-phap", DATE, "fixture").code == "2.001008"
    data["raw_text"] = "Tên thủ tụcXMã thủ tục1.014023Số quyết định"
    assert read_json(data, "bo-tu-phap", DATE, "fixture").code == "1.014023"


def test_the_agency_falls_back_past_no_information() -> None:
    data = {"co_quan_thuc_hien": "Không có thông tin", "co_quan_co_tham_quyen": "Chủ tịch Ủy ban nhân dân xã"}
    assert read_json(data, "bo-nong-nghiep-mt", DATE, "fixture").agency == "Chủ tịch Ủy ban nhân dân xã"


def test_invisible_marks_are_dropped() -> None:
    assert clean("đăng k\u200eý\ufeff hộ tịch") == "đăng ký hộ tịch"
