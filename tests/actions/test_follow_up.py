"""A short follow-up ("phí bao nhiêu", "làm ở đâu", "các bước thế nào", "hướng dẫn từng bước") right after an answer is
about the guide that answer came from; without such an answer it is handled as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import FOLLOW_UP_MAX_WORDS, ActionAnswer, Decision, follow_up_guide
from actions.retrieval.index import HybridIndex
from actions.safety import ActionOutOfScope
from actions.walkthrough import ActionMenu, ActionStartWalkthrough, ActionWalkthroughNav

pytestmark = pytest.mark.usefixtures("patched_index")

MakeTracker = Callable[..., Tracker]
BIRTH = {"kind": "answer", "guide_id": "birth-registration", "section": "Tóm tắt"}
# what the classifier gives a bare "phí bao nhiêu": no topic stands out
VAGUE = [{"name": "nlu_fallback", "confidence": 0.25}, {"name": "greet", "confidence": 0.22},
         {"name": "ask_payment_online", "confidence": 0.2}, {"name": "out_of_scope", "confidence": 0.13}]


def after(tracker: Tracker, custom: dict[str, Any] | None) -> Tracker:
    """The same message, sent right after an assistant reply carrying `custom` (None: the conversation's first)."""
    user = {"event": "user", "text": tracker.latest_message.get("text"), "parse_data": tracker.latest_message}
    tracker.events = ([{"event": "bot", "text": "…", "data": {"custom": custom}}] if custom is not None else []) + [user]
    return tracker


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


@pytest.mark.parametrize(("text", "heading"), [
    ("phí bao nhiêu", "Phí và thời gian"),
    ("phi bao nhieu", "Phí và thời gian"),
    ("mất bao lâu", "Phí và thời gian"),
    ("cần giấy tờ gì", "Cần chuẩn bị"),
    ("làm ở đâu", "Hỏi ở đâu"),
    ("các bước thế nào", "Các bước"),
])
def test_a_short_follow_up_gets_that_part_of_the_guide_just_shown(make_tracker: MakeTracker, text: str,
                                                                   heading: str) -> None:
    (message,), events = run(ActionAnswer(), after(make_tracker(text, "nlu_fallback", VAGUE), BIRTH))
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["guide_id"] == "birth-registration"
    assert message["custom"]["section"] == heading
    assert {"event": "slot", "timestamp": None, "name": "topic", "value": "birth-registration"} in events


@pytest.mark.parametrize("custom", [
    None,  # the first message of the conversation
    {"kind": "clarify", "candidates": ["can-cuoc", "passport"]},
    {"kind": "menu", "topics": ["birth-registration"]},
    {"kind": "answer"},  # no guide named
])
def test_without_an_answer_just_before_the_question_is_asked_back(make_tracker: MakeTracker,
                                                                   custom: dict[str, Any] | None) -> None:
    (message,), _ = run(ActionAnswer(), after(make_tracker("phí bao nhiêu", "nlu_fallback", VAGUE), custom))
    assert message["custom"]["kind"] == "clarify"  # asked back with the likely guides, not answered from one


def test_a_follow_up_during_a_walkthrough_is_about_the_guide_walked_through(make_tracker: MakeTracker) -> None:
    step = {"kind": "walkthrough", "event": "step", "guide_id": "can-cuoc", "step": 2, "total": 5}
    (message,), _ = run(ActionAnswer(), after(make_tracker("het bao nhieu tien", "nlu_fallback", VAGUE), step))
    assert (message["custom"]["guide_id"], message["custom"]["section"]) == ("can-cuoc", "Phí và thời gian")


def test_a_question_that_names_its_topic_is_answered_from_that_topic(make_tracker: MakeTracker) -> None:
    ranking = [{"name": "ask_can_cuoc", "confidence": 0.95}, {"name": "ask_passport", "confidence": 0.02}]
    (message,), _ = run(ActionAnswer(), after(make_tracker("làm lại căn cước phí bao nhiêu", "ask_can_cuoc", ranking),
                                              BIRTH))
    assert message["custom"]["guide_id"] == "can-cuoc"


@pytest.mark.parametrize(("text", "custom", "expected"), [
    ("phí bao nhiêu", BIRTH, "birth-registration"),
    ("cho hỏi cái này thì làm ở đâu vậy", BIRTH, None),  # 8 words: long enough to be about something else
    ("thời tiết hôm nay", BIRTH, None),  # asks for no part of a guide
    ("phí bao nhiêu", {"kind": "feedback", "guide_id": "birth-registration"}, None),
    ("phí bao nhiêu", {"kind": "answer", "guide_id": ""}, None),
])
def test_what_counts_as_a_follow_up(make_tracker: MakeTracker, text: str, custom: dict[str, Any],
                                    expected: str | None) -> None:
    assert follow_up_guide(after(make_tracker(text), custom), text) == expected


def test_the_word_limit() -> None:
    assert FOLLOW_UP_MAX_WORDS == 6


def test_an_off_topic_reading_of_a_follow_up_goes_to_the_answer(make_tracker: MakeTracker) -> None:
    messages, events = run(ActionOutOfScope(), after(make_tracker("mất bao lâu", "out_of_scope"), BIRTH))
    assert messages == [] and events == [FollowupAction("action_answer")]
    # with no answer just before, it is out of scope as before
    (message,), events = run(ActionOutOfScope(), after(make_tracker("mất bao lâu", "out_of_scope"), None))
    assert message["response"] == "utter_out_of_scope" and events == []


def test_a_follow_up_read_as_navigation_is_answered_when_no_walkthrough_is_under_way(make_tracker: MakeTracker) -> None:
    (message,), _ = run(ActionWalkthroughNav(), after(make_tracker("làm ở đâu", "nav_restart"), BIRTH))
    assert (message["custom"]["guide_id"], message["custom"]["section"]) == ("birth-registration", "Hỏi ở đâu")


def test_a_follow_up_read_as_the_menu_gets_the_steps_but_the_menu_button_the_menu(make_tracker: MakeTracker) -> None:
    (message,), _ = run(ActionMenu(), after(make_tracker("cac buoc the nao", "nav_menu"), BIRTH))
    assert (message["custom"]["guide_id"], message["custom"]["section"]) == ("birth-registration", "Các bước")
    (message,), _ = run(ActionMenu(), after(make_tracker("/nav_menu", "nav_menu"), BIRTH))
    assert message["custom"]["kind"] == "menu"
    (message,), _ = run(ActionMenu(), after(make_tracker("menu", "nav_menu"), BIRTH))
    assert message["custom"]["kind"] == "menu"


def test_step_by_step_right_after_an_answer_walks_through_that_guide(make_tracker: MakeTracker) -> None:
    messages, events = run(ActionStartWalkthrough(), after(make_tracker("hướng dẫn từng bước", "start_walkthrough"),
                                                           {"kind": "answer", "guide_id": "dvc-submit"}))
    # the walkthrough of that guide begins: its readiness question or its first step
    assert messages[0]["custom"]["guide_id"] == "dvc-submit"
    assert messages[0]["custom"]["kind"] in ("readiness", "walkthrough")


def test_step_by_step_right_after_which_one_offers_the_guides_just_offered(make_tracker: MakeTracker) -> None:
    offered = {"kind": "clarify", "candidates": ["vneid-activate", "vneid-register-level2"]}
    (message,), _ = run(ActionStartWalkthrough(), after(make_tracker("Hướng dẫn từng bước", "start_walkthrough"),
                                                         offered))
    assert message["custom"]["kind"] == "clarify" and message["custom"]["for"] == "walkthrough"
    assert message["custom"]["candidates"] == ["vneid-activate", "vneid-register-level2"]


def test_a_part_question_with_no_part_shape_gets_the_part_its_words_choose(make_tracker: MakeTracker) -> None:
    # the classifier calls it a question about a part; its words, not a cue, pick the part ("nộp trễ hạn thì sao")
    ranking = [{"name": "part_question", "confidence": 0.7}, *VAGUE]
    (message,), _ = run(ActionAnswer(), after(make_tracker("nộp trễ hạn thì sao", "part_question", ranking), BIRTH))
    assert message["custom"]["kind"] == "answer" and message["custom"]["guide_id"] == "birth-registration"
    assert message["custom"]["section"] != "Tóm tắt"  # not the summary the resident has just read


@pytest.mark.parametrize(("text", "intent"), [("phí hết bao nhiêu", "nlu_fallback"), ("nộp ở chỗ nào", "part_question")])
def test_a_follow_up_to_no_guide_gets_the_honest_reply_again(make_tracker: MakeTracker, text: str, intent: str) -> None:
    (message,), _ = run(ActionAnswer(), after(make_tracker(text, intent, VAGUE), {"kind": "no_guide"}))
    assert message["custom"]["kind"] == "no_guide"
    # a long question after "no guide" is a question of its own
    long = "cho tôi hỏi đăng ký khai sinh cho con thì phí bao nhiêu"
    (message,), _ = run(ActionAnswer(), after(make_tracker(long, "nlu_fallback", VAGUE), {"kind": "no_guide"}))
    assert message["custom"]["kind"] != "no_guide"


def test_a_follow_up_to_which_one_asks_again_about_the_same_guides(make_tracker: MakeTracker,
                                                                  patched_index: HybridIndex) -> None:
    offered = {"kind": "clarify", "candidates": ["can-cuoc", "passport"]}
    (message,), _ = run(ActionAnswer(), after(make_tracker("phí bao nhiêu", "nlu_fallback", VAGUE), offered))
    assert message["custom"] == {"kind": "clarify", "candidates": ["can-cuoc", "passport"]}
    # each button opens that guide's fee part, so one tap answers
    opened = [json.loads(b["payload"][len("/choose_topic"):]) for b in message["buttons"][:2]]
    headings = [patched_index.guides[o["topic"]].sections[int(o["section"])].heading for o in opened]
    assert headings == ["Phí và thời gian", "Phí và thời gian"]
    # a question with no part's shape after "which one?" is a new question, asked about on its own words
    (message,), _ = run(ActionAnswer(), after(make_tracker("thời tiết hôm nay", "nlu_fallback", VAGUE), offered))
    assert message.get("custom", {}).get("candidates") != ["can-cuoc", "passport"]


def test_a_follow_up_to_a_procedure_card_gets_that_part_of_the_card(make_tracker: MakeTracker) -> None:
    card = {"kind": "procedure", "procedure_code": "1.003677", "section": "summary"}
    (message,), _ = run(ActionAnswer(), after(make_tracker("phí hết bao nhiêu", "nlu_fallback", VAGUE), card))
    assert (message["custom"]["kind"], message["custom"]["procedure_code"]) == ("procedure", "1.003677")
    assert message["custom"]["section"] == "fee_time"
    (message,), _ = run(ActionAnswer(), after(make_tracker("nộp ở chỗ nào", "part_question", VAGUE), card))
    assert (message["custom"]["procedure_code"], message["custom"]["section"]) == ("1.003677", "where")
    # read as out of scope, it still reaches the answer; an unknown code is not followed up
    messages, events = run(ActionOutOfScope(), after(make_tracker("mất bao lâu", "out_of_scope"), card))
    assert messages == [] and events == [FollowupAction("action_answer")]
    (message,), _ = run(ActionAnswer(), after(make_tracker("phí hết bao nhiêu", "nlu_fallback", VAGUE),
                                              {**card, "procedure_code": "9.999999"}))
    assert message["custom"]["kind"] == "clarify"


def test_a_longer_question_the_conversation_settles_is_answered_from_its_guide(make_tracker: MakeTracker,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # fusion leans to birth registration, but not by enough to answer alone
    unsure = Decision("clarify", confidence=0.3, candidates=["birth-registration", "residence-registration"])
    monkeypatch.setattr("actions.knowledge.decide", lambda *args, **kwargs: unsure)
    text = "tôi đang đi làm xa nhà thì nộp ở chỗ đang ở được không"
    (first,), _ = run(ActionAnswer(), after(make_tracker(text, "nlu_fallback", VAGUE), None))
    assert first["custom"]["kind"] == "clarify"  # on its own, it is asked about
    # right after the birth answer, the conversation settles it
    (message,), _ = run(ActionAnswer(), after(make_tracker(text, "nlu_fallback", VAGUE), BIRTH))
    assert (message["custom"]["kind"], message["custom"]["guide_id"]) == ("answer", "birth-registration")
    # after the answer of a guide fusion ranks second, or of none it ranks, it is asked about as on its own
    for custom in ({"kind": "answer", "guide_id": "residence-registration"}, {"kind": "answer", "guide_id": "passport"}):
        (other,), _ = run(ActionAnswer(), after(make_tracker(text, "nlu_fallback", VAGUE), custom))
        assert other["custom"]["kind"] == "clarify"
