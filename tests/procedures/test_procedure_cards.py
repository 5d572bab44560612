"""Answer cards: the part asked for, the source and data date, fees the province sets, no district office."""

from __future__ import annotations

import json

import pytest

from procedures.cards import DISTRICT_NOTE, MAX_CARD_CHARS, PARTS, Place, card_message, variants_message
from procedures.records import Document, Fee, Procedure, Way
from procedures.search import ProcedureIndex

PLACE = Place("Trung tâm phục vụ hành chính công xã Ví Dụ", "📍 Trung tâm phục vụ hành chính công xã Ví Dụ: Số 1.",
              "Công an xã Ví Dụ", "📍 Công an xã Ví Dụ: Số 3.")


def record(**changes: object) -> Procedure:
    base = dict(
        code="1.000001", name="Thủ tục đăng ký thử nghiệm", levels=("xã",), field="Hộ tịch", ministry="Bộ Tư pháp",
        who=("Công dân Việt Nam",), agency="Ủy ban nhân dân cấp xã", where="", steps=("Bước 1: nộp hồ sơ.",),
        ways=(Way("Trực tiếp", "3 ngày làm việc", False, Fee("free", "Miễn phí")),
              Way("Trực tuyến", "3 ngày làm việc", False, Fee("provincial", "Theo mức HĐND tỉnh quy định"))),
        documents=(Document("Tờ khai theo mẫu", 1, None, "Mau01.docx", "Giấy tờ phải nộp"),
                   Document("Giấy tờ tùy thân", 1, None, "", "Giấy tờ phải xuất trình")),
        conditions="", result="Trích lục", legal_basis=("Luật 60/2014/QH13",), online_level="",
        source_url="https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1",
        data_date="2026-06-10", source="dichvucong.gov.vn, bản chụp 2026-06-10",
    )
    base.update(changes)
    return Procedure(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("part", PARTS)
def test_every_part_cites_the_source_and_data_date_and_fits_a_screen(part: str) -> None:
    message = card_message(record(), part, PLACE)
    assert message["text"].startswith("📋 Đăng ký thử nghiệm (cấp xã)")
    assert "mã 1.000001, dữ liệu ngày 10/06/2026" in message["text"]
    assert message["text"].rstrip().endswith("ma_thu_tuc=1")
    assert len(message["text"]) <= MAX_CARD_CHARS
    assert message["custom"] == {
        "kind": "procedure", "procedure_code": "1.000001", "procedure_name": "Đăng ký thử nghiệm", "section": part,
        "source_url": record().source_url, "data_date": "2026-06-10"}
    titles = [b["title"] for b in message["buttons"]]
    assert titles[-1] == "Gặp người hỗ trợ" and len(titles) <= 5


def test_the_buttons_open_the_other_parts() -> None:
    message = card_message(record(), "fee_time", PLACE)
    payloads = [b["payload"] for b in message["buttons"] if b["payload"].startswith("/procedure")]
    parts = [json.loads(p[len("/procedure"):])["part"] for p in payloads]
    assert parts == ["documents", "where", "steps"]
    assert [b["title"] for b in message["buttons"]][:2] == ["Giấy tờ cần có", "Nộp ở đâu, nộp trực tuyến"]


def test_a_walkthrough_is_offered_when_a_guide_walks_through_it() -> None:
    message = card_message(record(), "summary", PLACE, walkthrough="birth-registration")
    assert {"title": "Hướng dẫn từng bước", "payload": '/start_walkthrough{"topic": "birth-registration"}'} in \
        message["buttons"]


def test_fees_the_province_sets_say_so_and_free_is_only_where_the_source_says() -> None:
    text = card_message(record(), "fee_time", PLACE)["text"]
    assert "• Trực tiếp: 3 ngày làm việc; lệ phí: Miễn phí" in text
    assert "• Trực tuyến: 3 ngày làm việc; lệ phí: Theo mức HĐND tỉnh quy định" in text
    assert "HĐND tỉnh quy định: anh/chị hỏi" in text


def test_unknown_fee_and_time_without_unit_are_not_invented() -> None:
    ways = (Way("Trực tiếp", "5", True, Fee("unknown", "")),)
    text = card_message(record(ways=ways), "fee_time", PLACE)["text"]
    assert "5 (nguồn không ghi đơn vị)" in text
    assert "lệ phí: chưa có thông tin" in text
    assert "Miễn phí" not in text


def test_commune_procedures_send_to_the_centre_and_police_ones_to_the_police() -> None:
    assert "Nộp tại: Trung tâm phục vụ hành chính công xã Ví Dụ, hoặc trực tuyến" in \
        card_message(record(), "summary", PLACE)["text"]
    police = record(agency="Công an cấp Xã")
    assert "Nộp tại: Công an xã Ví Dụ" in card_message(police, "summary", PLACE)["text"]
    assert "📍 Công an xã Ví Dụ: Số 3." in card_message(police, "where", PLACE)["text"]


def test_a_source_naming_a_district_office_is_not_repeated() -> None:
    old = record(levels=("tỉnh",), agency="Phòng Tư pháp cấp huyện", flags=("names_district",),
                 steps=("Nộp hồ sơ tại Phòng Tư pháp cấp huyện.", "Nhận kết quả."))
    for part in PARTS:
        text = card_message(old, part, PLACE)["text"]
        assert "cấp huyện (đã bỏ" in text or "huyện" not in text, part
        assert "Phòng Tư pháp cấp huyện" not in text, part
    assert DISTRICT_NOTE in card_message(old, "where", PLACE)["text"]


def test_documents_list_groups_and_counts() -> None:
    text = card_message(record(), "documents", PLACE)["text"]
    assert "Giấy tờ phải nộp:\n1. Tờ khai theo mẫu (1 bản chính)" in text
    assert "Giấy tờ phải xuất trình:\n2. Giấy tờ tùy thân (1 bản chính)" in text


def test_variants_are_asked_with_one_button_each() -> None:
    index = ProcedureIndex.load()
    codes = ["1.001193", "1.004884", "2.000528"]
    message = variants_message([index.by_code[c] for c in codes], "fee_time")
    assert message["custom"] == {"kind": "clarify", "procedure_candidates": codes}
    payloads = [json.loads(b["payload"][len("/procedure"):]) for b in message["buttons"][:3]]
    assert payloads == [{"procedure": c, "part": "fee_time"} for c in codes]
    assert [b["title"] for b in message["buttons"][:3]] == [
        "Đăng ký khai sinh", "Đăng ký lại khai sinh", "Đăng ký khai sinh có yếu tố nước ngoài"]


def test_the_commune_file_sets_the_local_amount_of_a_provincial_fee() -> None:
    local = Place(PLACE.centre_name, PLACE.centre_line, local_fees={"1.000001": "8.000 đồng"})
    text = card_message(record(), "fee_time", local)["text"]
    assert "• Trực tuyến: 3 ngày làm việc; lệ phí: 8.000 đồng (mức HĐND tỉnh quy định)" in text
    assert "anh/chị hỏi Trung tâm" not in text
    assert "lệ phí: 8.000 đồng" in card_message(record(), "summary", local)["text"]
