"""Catalogue answers inside the dialogue: a card where no guide answers, variants, the part asked for, buttons."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswer
from actions.procedures import ActionProcedure, choose, names_outright, part_for
from actions.retrieval.calibration import ProcedureRules
from procedures.search import ProcedureIndex

pytestmark = pytest.mark.usefixtures("patched_index")
MakeTracker = Callable[..., Tracker]


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


@pytest.fixture(scope="module")
def index() -> ProcedureIndex:
    return ProcedureIndex.load()


@pytest.mark.parametrize(("text", "part"), [
    ("khai báo tạm vắng mất bao lâu", "fee_time"),
    ("tach ho can giay to gi", "documents"),
    ("hòa giải tranh chấp đất nộp ở đâu", "where"),
    ("chứng thực di chúc", "summary"),
])
def test_the_part_a_question_asks_for(text: str, part: str) -> None:
    assert part_for(text) == part


def test_a_clear_match_is_answered_and_close_ones_are_offered(index: ProcedureIndex) -> None:
    rules = ProcedureRules(min_score=5, min_strength=0.3, variant_ratio=0.9)
    choice = choose(index.search("chứng thực di chúc"), "chứng thực di chúc", rules)
    assert choice is not None and choice.kind == "answer" and choice.records[0].code == "2.001019"
    both = choose(index.search("đăng ký lại khai sinh"), "đăng ký lại khai sinh", ProcedureRules(variant_ratio=0.5))
    assert both is not None and both.kind == "variants"
    assert {"1.004884", "2.000522"} <= {r.code for r in both.records}
    assert choose(index.search("đăng ký lại khai sinh"), "x", ProcedureRules(min_score=1000)) is None


def test_no_guide_question_gets_the_procedure_card(make_tracker: MakeTracker) -> None:
    ranking = [{"name": "other_service", "confidence": 0.9}]
    (message,), _ = run(ActionAnswer(), make_tracker("khai báo tạm vắng mất mấy ngày", "other_service", ranking))
    assert message["custom"]["kind"] == "procedure"
    assert message["custom"]["procedure_code"] == "1.003677"
    assert message["custom"]["section"] == "fee_time"
    assert message["custom"]["data_date"] == "2026-06-10"
    assert "Lệ phí và thời gian" in message["text"]


def test_a_guide_still_wins_where_one_answers(make_tracker: MakeTracker) -> None:
    ranking = [{"name": "ask_judicial_record", "confidence": 0.95}]
    (message,), _ = run(ActionAnswer(), make_tracker("làm lý lịch tư pháp", "ask_judicial_record", ranking))
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["guide_id"] == "judicial-record"


@pytest.mark.parametrize(("code", "text", "outright"), [
    ("2.001019", "có thể chứng thực di chúc ở UBND xã không", True),  # the name
    ("2.000635", "mat giay dkkh ban goc thi xin trich luc ket hon ntn", True),  # an everyday phrase, unaccented
    ("1.004884", "thất lạc tờ khai sinh gốc, có phải đăng ký khai sinh lần nữa không", False),  # its words, reordered
    ("1.004884", "đăng ký lại khai sinhh", False),  # a word that only starts like the name's
])
def test_a_procedure_named_outright(index: ProcedureIndex, code: str, text: str, outright: bool) -> None:
    assert names_outright(index.by_code[code], text, index) is outright


def test_a_guide_part_written_for_the_situation_wins_over_a_sibling_card(make_tracker: MakeTracker) -> None:
    # the catalogue's closest card is "Đăng ký lại khai sinh"; the guide says there is no need to register again
    text = "Lần chuyển nhà thất lạc mất tờ khai sinh gốc, giờ xin lại ở đâu, có phải đăng ký khai sinh lần nữa không?"
    ranking = [{"name": "ask_birth_registration", "confidence": 0.95}]
    (message, *_), _ = run(ActionAnswer(), make_tracker(text, "ask_birth_registration", ranking))
    assert message["custom"]["kind"] == "answer" and message["custom"]["guide_id"] == "birth-registration"
    assert message["custom"]["section"] == "Mất giấy khai sinh, cần bản sao"
    # named outright, the sibling procedure keeps its card (the guide's part on mixing up copies and notarising
    # would have answered otherwise)
    text = "Mẹ tôi muốn lập di chúc để lại đất cho các con, có thể chứng thực di chúc ở UBND xã hay phải ra công chứng?"
    ranking = [{"name": "ask_certified_copy", "confidence": 0.95}]
    (card, *_), _ = run(ActionAnswer(), make_tracker(text, "ask_certified_copy", ranking))
    assert card["custom"]["kind"] == "procedure" and card["custom"]["procedure_code"] == "2.001019"


def test_a_button_opens_the_part(make_tracker: MakeTracker) -> None:
    entities = [{"entity": "procedure", "value": "1.003677"}, {"entity": "part", "value": "documents"}]
    (message,), events = run(ActionProcedure(), make_tracker('/procedure{"procedure": "1.003677"}', "procedure",
                                                             entities=entities))
    assert events == []
    assert message["custom"]["section"] == "documents"
    assert "Giấy tờ cần có" in message["text"]
    parts = [json.loads(b["payload"][len("/procedure"):])["part"] for b in message["buttons"]
             if b["payload"].startswith("/procedure")]
    assert "documents" not in parts and "fee_time" in parts


@pytest.mark.parametrize("entities", [
    [{"entity": "procedure", "value": "9.999999"}],
    [],
    [{"entity": "procedure", "value": "1.003677"}, {"entity": "part", "value": "<script>"}],
])
def test_a_forged_or_stale_button_gets_a_short_reply(make_tracker: MakeTracker, entities: list[dict[str, Any]]) -> None:
    (message,), events = run(ActionProcedure(), make_tracker("/procedure", "procedure", entities=entities))
    assert events == []
    if entities and entities[0]["value"] == "1.003677":
        assert message["custom"]["section"] == "summary"
    else:
        assert "không tìm thấy thủ tục" in message["text"]


def test_a_guide_covering_the_procedure_answers_for_it(make_tracker: MakeTracker) -> None:
    # the classifier does not recognise the question, the catalogue finds "Đăng ký thường trú", which a guide covers
    ranking = [{"name": "other_service", "confidence": 0.9}]
    (message,), events = run(ActionAnswer(), make_tracker("đăng ký thường trú", "other_service", ranking))
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["guide_id"] == "residence-registration"


def test_the_card_offers_the_walkthrough_of_the_guide_that_covers_it(make_tracker: MakeTracker) -> None:
    entities = [{"entity": "procedure", "value": "1.001193"}]
    (message,), _ = run(ActionProcedure(), make_tracker("/procedure", "procedure", entities=entities))
    assert {"title": "Hướng dẫn từng bước", "payload": '/start_walkthrough{"topic": "birth-registration"}'} in \
        message["buttons"]


def test_a_procedure_named_outright_in_another_field_answers_over_a_guide_without_it(
        make_tracker: MakeTracker) -> None:
    # the health-insurance guide ranks first, but the question names the lump-sum social insurance procedure by an
    # everyday phrase of it ("lãnh BHXH một lần")
    text = "nghỉ làm công ty rồi, muốn lãnh BHXH một lần thì nộp ở đâu"
    ranking = [{"name": "ask_health_insurance", "confidence": 0.95}]
    (message, *_), _ = run(ActionAnswer(), make_tracker(text, "ask_health_insurance", ranking))
    assert message["custom"]["kind"] == "procedure" and message["custom"]["procedure_code"] == "1.001613"


@pytest.mark.parametrize(("text", "intent"), [
    ("nhận được tin nhắn cấp lại sổ đỏ bị mất qua đường link có thật không", "other_service"),
    ("có người gọi bảo rút bảo hiểm xã hội một lần qua link này, có phải lừa đảo không", "ask_health_insurance"),
])
def test_a_doubted_text_or_link_about_a_procedure_never_gets_its_card(make_tracker: MakeTracker, text: str,
                                                                       intent: str) -> None:
    ranking = [{"name": intent, "confidence": 0.9}]
    (message, *_), _ = run(ActionAnswer(), make_tracker(text, intent, ranking))
    assert message["custom"]["kind"] != "procedure"
