"""Every custom action, run with CollectingDispatcher and a Tracker built in code, over a BM25-only index."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions import replies
from actions.feedback import FEEDBACK_TEXT, ActionFeedback
from actions.handoff import HANDOFF_TEXT, ActionHandoff
from actions.knowledge import (
    ActionAnswer,
    ActionChooseTopic,
    Decision,
    answered_alike,
    decide,
    guide_for_intent,
)
from actions.retrieval.calibration import FusionWeights, load_calibration
from actions.retrieval.index import HybridIndex
from actions.retrieval.sections import choose_section
from actions.safety import REPLIES, ActionBadInput, ActionOutOfScope
from actions.settings import Settings, get_settings
from actions.walkthrough import (
    ActionMenu,
    ActionSessionStart,
    ActionStartWalkthrough,
    ActionWalkthroughNav,
    ActionYesNo,
)
from common.messages import say
from common.text import MAX_MESSAGE_CHARS, truncate

pytestmark = pytest.mark.usefixtures("patched_index")

MakeTracker = Callable[..., Tracker]
THRESHOLD, MARGIN = 0.45, 0.06  # the defaults of actions/settings.py
DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
# The OTP warning is sent by the REST channel (rasa_addons/channel.py) as a reply of its own; its wording starts so.
CHANNEL_WARNING_MARKERS = ("⚠️", "đừng gửi mã OTP")
HUMAN = {"title": "Gặp người hỗ trợ", "payload": "/request_human"}
MENU = {"title": "Chủ đề khác", "payload": "/nav_menu"}
DATE_VI = re.compile(r"\(cập nhật \d{2}/\d{2}/\d{4}\)$")


def intent(name: str, confidence: float) -> dict[str, Any]:
    return {"name": name, "confidence": confidence}


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; return (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def payload_json(payload: str, intent_name: str = "choose_topic") -> dict[str, Any]:
    assert payload.startswith(f"/{intent_name}")
    return json.loads(payload[len(intent_name) + 1 :])


# --- intent names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "guide"),
    [
        ("ask_vneid_activate", "vneid-activate"),
        ("ask_vneid_register_level2", "vneid-register-level2"),
        ("ask_e_signature", "e-signature"),
        ("ask_can_cuoc", "can-cuoc"),
        ("greet", None),
        ("out_of_scope", None),
        ("nlu_fallback", None),
        ("", None),
        (None, None),
    ],
)
def test_guide_for_intent(name: str | None, guide: str | None) -> None:
    assert guide_for_intent(name) == guide


# --- decide() ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ranking", "guide"),
    [
        ("kích hoạt vneid thế nào", [intent("ask_vneid_activate", 0.92)], "vneid-activate"),
        ("kich hoat vneid the nao", [intent("ask_vneid_activate", 0.92), intent("ask_dvc_login", 0.05)],
         "vneid-activate"),
        ("quên passcode vneid", [intent("ask_vneid_troubleshoot", 0.7)], "vneid-troubleshoot"),
        ("Xin lý lịch tư pháp ở đâu", [intent("nlu_fallback", 0.7), intent("ask_judicial_record", 0.3)],
         "judicial-record"),
        # a greeting is no reason to refuse a question that matches a guide this well
        ("chào anh/chị, lý lịch tư pháp", [intent("greet", 0.9)], "judicial-record"),
    ],
)
def test_decide_answers(bm25_index: HybridIndex, text: str, ranking: list[dict[str, Any]], guide: str) -> None:
    decision = decide(text, ranking, bm25_index, THRESHOLD, MARGIN)
    assert decision.kind == "answer"
    assert decision.guide_id == guide
    assert decision.confidence >= THRESHOLD
    assert decision.candidates[0] == guide


@pytest.mark.parametrize(
    ("text", "ranking", "candidates"),
    [
        # two topics the classifier cannot separate
        (
            "đăng nhập",
            [intent("ask_dvc_login", 0.5), intent("ask_vneid_activate", 0.45)],
            ["dvc-login", "vneid-activate"],
        ),
        # ("quên mật khẩu" itself is answered from vneid-troubleshoot: the part questions tie its words to that
        # guide's "Quên mật khẩu" part, so the words settle what the classifier leaves open)
        (
            "lấy lại mật khẩu",
            [intent("ask_vneid_troubleshoot", 0.4), intent("ask_dvc_login", 0.38)],
            ["vneid-troubleshoot", "dvc-login"],
        ),
        # confident but not far enough ahead of the runner-up
        (
            "lệ phí",
            [intent("ask_payment_online", 0.6), intent("ask_payment_troubleshoot", 0.58)],
            ["payment-online", "payment-troubleshoot"],
        ),
        # a confident intent with no words of the guide behind it is checked, not answered
        ("", [intent("ask_judicial_record", 0.95)], ["judicial-record"]),
    ],
)
def test_decide_asks_to_clarify(
    bm25_index: HybridIndex, text: str, ranking: list[dict[str, Any]], candidates: list[str]
) -> None:
    decision = decide(text, ranking, bm25_index, THRESHOLD, MARGIN)
    assert decision.kind == "clarify"
    assert decision.guide_id is None
    assert decision.candidates[: len(candidates)] == candidates
    assert 1 <= len(decision.candidates) <= 3


@pytest.mark.parametrize(
    ("text", "ranking"),
    [
        ("giá vàng hôm nay bao nhiêu", [intent("out_of_scope", 0.9)]),  # matches guides weakly, classifier says no
        ("bóng đá tối nay đội nào thắng", [intent("out_of_scope", 0.8), intent("ask_scam_safety", 0.1)]),
        ("xyzzy", []),  # nothing at all
        ("xyzzy", [intent("greet", 0.9), intent("ask_weather", 0.9)]),  # unknown topic intents count for nothing
        ("", []),
    ],
)
def test_decide_out_of_scope(bm25_index: HybridIndex, text: str, ranking: list[dict[str, Any]]) -> None:
    decision = decide(text, ranking, bm25_index, THRESHOLD, MARGIN)
    assert decision.kind == "out_of_scope"
    assert decision.guide_id is None


def test_a_faint_out_of_scope_vote_is_asked_back_not_turned_away(bm25_index: HybridIndex) -> None:
    # "giấy tờ" alone: every intent shares the little the classifier reads; the guides that mention it are offered
    ranking = [intent("nlu_fallback", 0.25), intent("affirm", 0.11), intent("out_of_scope", 0.1), intent("greet", 0.08)]
    decision = decide("giấy tờ", ranking, bm25_index, THRESHOLD, MARGIN)
    assert decision.kind == "clarify" and decision.candidates
    sure = [intent("out_of_scope", 0.3), intent("greet", 0.1)]
    assert decide("giấy tờ", sure, bm25_index, THRESHOLD, MARGIN).kind == "out_of_scope"


def test_decide_trusts_a_topic_intent_over_out_of_scope(bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_judicial_record", 0.8), intent("out_of_scope", 0.15)]
    assert decide("lý lịch tư pháp", ranking, bm25_index, THRESHOLD, MARGIN).guide_id == "judicial-record"


def test_decide_thresholds_come_from_the_caller(bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_vneid_activate", 0.92)]
    assert decide("kích hoạt vneid", ranking, bm25_index, 0.99, MARGIN).kind == "clarify"
    assert decide("kích hoạt vneid", ranking, bm25_index, THRESHOLD, 0.9).kind == "clarify"


@pytest.mark.parametrize(
    ("ranking", "kind"),
    [
        ([intent("other_service", 0.8), intent("ask_residence_registration", 0.1)], "no_guide"),
        # the classifier's sensitive reading (which alone does not refuse: see the next test)
        ([intent("sensitive", 0.7), intent("ask_can_cuoc", 0.2)], "sensitive"),
        # the classifier surer of a guide than of the boundary: the guide decides
        ([intent("ask_judicial_record", 0.6), intent("sensitive", 0.3)], "answer"),
    ],
)
def test_decide_boundaries(bm25_index: HybridIndex, ranking: list[dict[str, Any]], kind: str) -> None:
    assert decide("lý lịch tư pháp", ranking, bm25_index, THRESHOLD, MARGIN).kind == kind


def test_only_the_rule_refuses(make_tracker: MakeTracker) -> None:
    ranking = [intent("sensitive", 0.9), intent("ask_can_cuoc", 0.05)]
    (message,), _ = run(ActionAnswer(), make_tracker("bot đứng về phe nào vậy, nói thật đi", "sensitive", ranking))
    assert message["custom"] == {"kind": "sensitive", "reason": "politics"}
    # a legitimate question the classifier misreads as sensitive gets the honest "no guide" reply, not a refusal
    text = "nhà mạng bắt chuẩn hóa thuê bao, ra cửa hàng nào làm"
    (message,), _ = run(ActionAnswer(), make_tracker(text, "sensitive", ranking))
    assert message["custom"] == {"kind": "no_guide"} and "dichvucong.gov.vn" in message["text"]


def test_fusion_weights_come_from_the_caller(bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_vneid_activate", 0.9)]
    words_only = FusionWeights(nlu=0.0, lexical=1.0, dense=0.0)
    assert decide("lý lịch tư pháp", ranking, bm25_index, THRESHOLD, MARGIN, words_only).guide_id == "judicial-record"
    intent_only = FusionWeights(nlu=1.0, lexical=0.0, dense=0.0)
    assert decide("lý lịch tư pháp", ranking, bm25_index, THRESHOLD, MARGIN, intent_only).guide_id == "vneid-activate"


def test_test_settings_use_the_default_thresholds(test_settings: Settings) -> None:
    assert (test_settings.answer_threshold, test_settings.clarify_margin) == (THRESHOLD, MARGIN)


def test_decision_defaults() -> None:
    assert Decision("out_of_scope") == Decision("out_of_scope", None, 0.0, [])


@pytest.mark.parametrize(
    ("text", "guide", "heading"),
    [
        ("làm lại căn cước bị mất hết bao nhiêu tiền", "can-cuoc", "Phí và thời gian"),
        ("quen passcode vneid", "vneid-troubleshoot", "Quên passcode"),
        ("không nhận được mã OTP", "vneid-troubleshoot", "Không nhận được mã OTP"),
        ("làm căn cước ở đâu, gọi số nào", "can-cuoc", "Hỏi ở đâu"),
        ("thẻ căn cước là gì", "can-cuoc", ""),
    ],
)
def test_the_part_of_the_guide_that_answers(bm25_index: HybridIndex, text: str, guide: str, heading: str) -> None:
    # with the weights chosen on the validation split (actions/retrieval/calibration.json)
    assert choose_section(bm25_index, guide, text, load_calibration().sections).heading == heading


# --- ActionAnswer --------------------------------------------------------------------------------------------


def test_action_answer_answers_from_the_guide(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    tracker = make_tracker("Kích hoạt VNeID thế nào?", "ask_vneid_activate", [intent("ask_vneid_activate", 0.92)])
    messages, events = run(ActionAnswer(), tracker)

    guide = bm25_index.guides["vneid-activate"]
    assert events == [SlotSet("topic", "vneid-activate")]
    (message,) = messages
    text = message["text"]
    assert text.startswith(f"📘 {guide.title}\n\n{guide.summary}")
    assert text.endswith(f"Nguồn: {guide.source_for(None)} (cập nhật {guide.reviewed:%d/%m/%Y})")
    assert DATE_VI.search(text)
    assert not any(marker in text for marker in CHANNEL_WARNING_MARKERS)
    assert len(text) <= replies.MAX_ANSWER_CHARS
    custom = message["custom"]
    assert custom["kind"] == "answer"
    assert custom["guide_id"] == "vneid-activate"
    assert custom["source_url"] == guide.source_for(None) and ".gov.vn/" in custom["source_url"]
    assert custom["reviewed"] == guide.reviewed.isoformat()
    assert custom["section"] == "Tóm tắt"
    assert custom["title"] == guide.title
    assert 0.45 <= custom["confidence"] <= 1.0
    part = {s.heading: str(i) for i, s in enumerate(guide.sections)}
    assert message["buttons"] == [
        {"title": "Hướng dẫn từng bước", "payload": '/start_walkthrough{"topic": "vneid-activate"}'},
        {"title": "Cần chuẩn bị",
         "payload": f'/choose_topic{{"topic": "vneid-activate", "section": "{part["Cần chuẩn bị"]}"}}'},
        {"title": "Phí và thời gian",
         "payload": f'/choose_topic{{"topic": "vneid-activate", "section": "{part["Phí và thời gian"]}"}}'},
        MENU,
        HUMAN,
    ]
    assert payload_json(message["buttons"][0]["payload"], "start_walkthrough") == {"topic": "vneid-activate"}


def test_action_answer_quotes_the_matching_section(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    tracker = make_tracker("chờ mãi không thấy mã OTP của vneid", "ask_vneid_troubleshoot",
                           [intent("ask_vneid_troubleshoot", 0.7)])
    (message,), events = run(ActionAnswer(), tracker)
    assert events == [SlotSet("topic", "vneid-troubleshoot")]
    assert message["custom"]["section"] == "Không nhận được mã OTP"
    assert message["text"].startswith("📘 Xử lý lỗi thường gặp trên VNeID — Không nhận được mã OTP\n\n")
    # the summary is not repeated in front of the part that answers
    assert bm25_index.guides["vneid-troubleshoot"].summary not in message["text"]
    titles = [b["title"] for b in message["buttons"]]
    assert titles == ["Hướng dẫn từng bước", "Xem các bước", "Hỏi ở đâu", "Chủ đề khác", "Gặp người hỗ trợ"]
    assert "###" not in message["text"]
    assert "Nguồn: https://" in message["text"]


def assert_no_channel_warning(messages: list[dict[str, Any]]) -> None:
    """The action sends its one reply; the channel alone adds the OTP warning, so it must not appear twice."""
    assert len(messages) == 1
    text = messages[0].get("text") or ""
    assert not any(marker in text for marker in CHANNEL_WARNING_MARKERS), text
    assert messages[0].get("custom", {}).get("kind") != "warning"


@pytest.mark.parametrize("metadata", [{}, {"shared_secret": False}, {"pii_masked": True}, {"shared_secret": True}])
def test_action_answer_leaves_the_otp_warning_to_the_channel(
    make_tracker: MakeTracker, metadata: dict[str, Any]
) -> None:
    tracker = make_tracker(
        "mã OTP [MÃ] kích hoạt vneid", "ask_vneid_activate", [intent("ask_vneid_activate", 0.9)], metadata=metadata
    )
    messages, events = run(ActionAnswer(), tracker)
    assert_no_channel_warning(messages)
    assert messages[0]["text"].startswith("📘 ")  # no prefix before the answer
    assert messages[0]["custom"]["kind"] == "answer"
    assert events == [SlotSet("topic", "vneid-activate")]


def test_action_answer_asks_to_clarify(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_dvc_login", 0.5), intent("ask_vneid_activate", 0.45)]
    (message,), events = run(ActionAnswer(), make_tracker("đăng nhập", "ask_dvc_login", ranking))
    assert events == []
    custom = message["custom"]
    assert custom["kind"] == "clarify"
    assert custom["candidates"][:2] == ["dvc-login", "vneid-activate"]
    buttons = message["buttons"]
    assert buttons[-1] == HUMAN
    # each button opens its guide at the part that would answer (or its summary)
    assert [payload_json(b["payload"])["topic"] for b in buttons[:-1]] == custom["candidates"]
    for button in buttons[:-1]:
        payload = payload_json(button["payload"])
        guide = bm25_index.guides[payload["topic"]]
        assert set(payload) <= {"topic", "section"}
        assert "section" not in payload or 0 <= int(payload["section"]) < len(guide.sections)
    assert buttons[0]["title"] == truncate(bm25_index.guides["dvc-login"].short_title, 40)
    assert all(len(b["title"]) <= 40 for b in buttons)
    assert "Nguồn:" not in message["text"]


def test_a_clarifying_button_opens_the_part_that_answers(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_can_cuoc", 0.3), intent("ask_passport", 0.3)]
    (message,), _ = run(ActionAnswer(), make_tracker("hết bao nhiêu tiền", "ask_can_cuoc", ranking))
    assert message["custom"]["kind"] == "clarify"
    opened = {payload_json(b["payload"])["topic"]: payload_json(b["payload"]).get("section")
              for b in message["buttons"][:-1]}
    guide = bm25_index.guides["can-cuoc"]
    assert guide.sections[int(opened["can-cuoc"])].heading == "Phí và thời gian"


@pytest.mark.parametrize(("parts", "alike"), [
    ({"vneid-activate": "Không nhận được mã OTP", "vneid-troubleshoot": "Không nhận được mã OTP"}, True),
    ({"vneid-activate": "Không nhận được mã OTP", "vneid-troubleshoot": "không nhận được mã otp."}, True),
    # the parts every guide has, or the summaries, say nothing about which guide is meant
    ({"can-cuoc": "Phí và thời gian", "passport": "Phí và thời gian"}, False),
    ({"can-cuoc": "Hỏi ở đâu", "passport": "Hỏi ở đâu"}, False),
    ({"can-cuoc": "", "passport": ""}, False),
    ({"vneid-activate": "Không nhận được mã OTP", "vneid-troubleshoot": "Quên mật khẩu"}, False),
    ({"vneid-activate": "Không nhận được mã OTP"}, False),
])
def test_two_guides_answering_with_the_same_named_part(parts: dict[str, str], alike: bool) -> None:
    assert answered_alike(list(parts), parts) is alike


def test_a_named_problem_both_likely_guides_answer_is_answered_not_clarified(
        make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    ranking = [intent("ask_vneid_activate", 0.5), intent("ask_vneid_troubleshoot", 0.45)]
    text = "không nhận được mã OTP"
    (message, *_), events = run(ActionAnswer(), make_tracker(text, "ask_vneid_activate", ranking))
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["section"] == "Không nhận được mã OTP"


def test_one_candidate_is_checked_with_a_yes_no_question(bm25_index: HybridIndex) -> None:
    guide = bm25_index.guides["can-cuoc"]
    message = replies.clarify_message([guide])
    assert message["text"].startswith("Có phải anh/chị hỏi về việc này không?")
    assert [b["title"] for b in message["buttons"]] == [guide.short_title, "Gặp người hỗ trợ"]


def test_action_answer_clarify_leaves_the_otp_warning_to_the_channel(make_tracker: MakeTracker) -> None:
    ranking = [intent("ask_dvc_login", 0.5), intent("ask_vneid_activate", 0.45)]
    tracker = make_tracker("đăng nhập passcode [MÃ]", "ask_dvc_login", ranking, metadata={"shared_secret": True})
    messages, _ = run(ActionAnswer(), tracker)
    assert_no_channel_warning(messages)
    assert messages[0]["custom"]["kind"] == "clarify"
    assert messages[0]["text"].startswith("Em chưa chắc anh/chị hỏi về việc nào.")


@pytest.mark.parametrize(
    ("text", "ranking"),
    [
        ("giá vàng hôm nay bao nhiêu", [intent("out_of_scope", 0.9)]),
        ("xyzzy", []),
    ],
)
def test_action_answer_out_of_scope(make_tracker: MakeTracker, text: str, ranking: list[dict[str, Any]]) -> None:
    (message,), events = run(ActionAnswer(), make_tracker(text, "nlu_fallback", ranking))
    assert events == []
    assert message["response"] == "utter_out_of_scope"
    assert message["text"] is None and message["buttons"] == []


def test_action_answer_out_of_scope_leaves_the_otp_warning_to_the_channel(make_tracker: MakeTracker) -> None:
    # a bare code masked to '[MÃ]' finds no guide: the channel warns whatever the intent, the action only refuses
    tracker = make_tracker(
        "[MÃ]", "nlu_fallback", [intent("nlu_fallback", 0.7)], metadata={"shared_secret": True, "pii_masked": True}
    )
    messages, events = run(ActionAnswer(), tracker)
    assert_no_channel_warning(messages)
    assert messages[0]["response"] == "utter_out_of_scope"
    assert events == []


def test_action_answer_without_a_latest_message(make_tracker: MakeTracker) -> None:
    tracker = make_tracker()
    tracker.latest_message = None  # type: ignore[assignment]
    (message,), events = run(ActionAnswer(), tracker)
    assert message["response"] == "utter_out_of_scope" and events == []


# --- ActionChooseTopic ---------------------------------------------------------------------------------------


def topic_tracker(make_tracker: MakeTracker, **entities: str) -> Tracker:
    return make_tracker(
        "/choose_topic" + json.dumps(entities, ensure_ascii=False),
        "choose_topic",
        entities=[{"entity": k, "value": v} for k, v in entities.items()],
    )


@pytest.mark.parametrize("topic", ["judicial-record", "can-cuoc", "scam-safety", "support-contacts"])
def test_choose_topic_sends_the_guide_summary(make_tracker: MakeTracker, bm25_index: HybridIndex, topic: str) -> None:
    (message,), events = run(ActionChooseTopic(), topic_tracker(make_tracker, topic=topic))
    guide = bm25_index.guides[topic]
    assert events == [SlotSet("topic", topic)]
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["guide_id"] == topic
    assert message["custom"]["section"] == "Tóm tắt"
    assert message["custom"]["source_url"] == guide.source_for(None)
    assert "confidence" not in message["custom"]
    assert message["text"].startswith(f"📘 {guide.title}")
    assert f"Nguồn: {guide.source_for(None)}" in message["text"]
    assert "👉" not in message["text"]  # the summary, not a section
    assert message["buttons"][0]["payload"] == f'/start_walkthrough{{"topic": "{topic}"}}'


def test_the_steps_button_lists_the_steps(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    guide = bm25_index.guides["vneid-activate"]
    (button,) = [b for b in replies.answer_message(guide, guide.section("Cần chuẩn bị"))["buttons"]
                 if b["title"] == "Xem các bước"]  # what the resident taps
    entities = payload_json(button["payload"], "choose_topic")
    (message,), events = run(ActionChooseTopic(), topic_tracker(make_tracker, **entities))
    assert events == [SlotSet("topic", "vneid-activate")]
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["section"] == "Các bước"
    assert message["custom"]["guide_id"] == "vneid-activate"
    text = message["text"]
    assert text.startswith(f"📘 {guide.short_title} — các bước:\n\n1. ")
    assert f"\n{len(guide.steps)}. " in text
    assert DATE_VI.search(text)
    assert [b["title"] for b in message["buttons"]] == ["Hướng dẫn từng bước", "Cần chuẩn bị", "Chủ đề khác",
                                                       "Gặp người hỗ trợ"]


@pytest.mark.parametrize("heading", ["Phí và thời gian", "Hỏi ở đâu", "Quên passcode"])
def test_a_section_button_opens_that_part(make_tracker: MakeTracker, bm25_index: HybridIndex, heading: str) -> None:
    guide = bm25_index.guides["vneid-troubleshoot" if heading == "Quên passcode" else "can-cuoc"]
    position = next(i for i, s in enumerate(guide.sections) if s.heading == heading)
    (message,), events = run(ActionChooseTopic(), topic_tracker(make_tracker, topic=guide.id, section=str(position)))
    assert events == [SlotSet("topic", guide.id)]
    assert message["custom"]["section"] == heading
    assert message["text"].startswith(f"📘 {guide.short_title} — {heading}\n\n")


@pytest.mark.parametrize("position", ["99", "-1", "x", ""])
def test_a_bad_section_position_shows_the_summary(make_tracker: MakeTracker, position: str) -> None:
    (message,), _ = run(ActionChooseTopic(), topic_tracker(make_tracker, topic="can-cuoc", section=position))
    assert message["custom"]["section"] == "Tóm tắt"


def test_walkthrough_button_reaches_the_walkthrough_through_declared_entities(
    make_tracker: MakeTracker, bm25_index: HybridIndex
) -> None:
    # Rasa drops payload entities the domain does not declare: 'topic' must be there for the button to work
    guide = bm25_index.guides["vneid-activate"]  # no preconditions: the button goes straight to step 1
    (button, *_) = replies.answer_message(guide, None)["buttons"]
    assert button["title"] == "Hướng dẫn từng bước"
    sent = payload_json(button["payload"], "start_walkthrough")
    assert set(sent) <= set(DOMAIN["entities"])
    assert "start_walkthrough" in DOMAIN["intents"]
    declared = [{"entity": k, "value": v} for k, v in sent.items() if k in DOMAIN["entities"]]
    tracker = make_tracker(button["payload"], "start_walkthrough", entities=declared)
    (message,), _ = run(ActionStartWalkthrough(), tracker)
    assert message["custom"]["kind"] == "walkthrough"
    assert (message["custom"]["event"], message["custom"]["guide_id"]) == ("started", "vneid-activate")


@pytest.mark.parametrize("entities", [{"topic": "no-such-guide"}, {"topic": ""}, {}, {"mode": "steps"}])
def test_choose_topic_unknown_shows_the_menu(make_tracker: MakeTracker, entities: dict[str, str]) -> None:
    (message,), events = run(ActionChooseTopic(), topic_tracker(make_tracker, **entities))
    assert events == []
    assert message["custom"]["kind"] == "menu"
    assert message["text"].startswith("Em không tìm thấy mục đó.")
    assert message["buttons"][-1] == HUMAN


# --- the menu (action_menu, now in actions/walkthrough.py) -----------------------------------------------------


def test_menu_lists_the_topics(make_tracker: MakeTracker, bm25_index: HybridIndex) -> None:
    (message,), events = run(ActionMenu(), make_tracker("menu", "nav_menu"))
    assert events == []
    assert message["text"].startswith("Em có thể hướng dẫn anh/chị các việc sau.")
    assert message["custom"] == {"kind": "menu", "topics": list(replies.MENU_TOPICS)}
    buttons = message["buttons"]
    assert buttons[-1] == HUMAN
    assert [payload_json(b["payload"])["topic"] for b in buttons[:-1]] == list(replies.MENU_TOPICS)
    assert buttons[0] == {
        "title": truncate(bm25_index.guides["vneid-register-level2"].short_title, 40),
        "payload": '/choose_topic{"topic": "vneid-register-level2"}',
    }


@pytest.mark.parametrize("nav", ["nav_next", "nav_back", "nav_repeat", "nav_stuck", "nav_done", "nav_restart"])
def test_navigation_without_a_walkthrough_says_there_is_none(make_tracker: MakeTracker, nav: str) -> None:
    # navigation goes to action_walkthrough_nav now (data/rules/conversation.yml); with nothing under way it
    # shows the menu with this explanation
    (message,), events = run(ActionWalkthroughNav(), make_tracker("tiếp", nav))
    assert events == []
    assert message["text"].startswith("Anh/chị chưa bắt đầu hướng dẫn từng bước nào.")
    assert message["custom"]["kind"] == "menu"
    assert message["buttons"][-1] == HUMAN


@pytest.mark.parametrize("name", [None, "greet", "nav_menu", "nav_next"])
def test_menu_uses_the_default_text(make_tracker: MakeTracker, name: str | None) -> None:
    (message,), _ = run(ActionMenu(), make_tracker("menu", name))
    assert message["text"].startswith("Em có thể hướng dẫn anh/chị")


# --- ActionHandoff, ActionFeedback ---------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["dvc-login", None])
def test_handoff(make_tracker: MakeTracker, topic: str | None) -> None:
    (message,), events = run(ActionHandoff(), make_tracker("gặp người thật", "request_human", slots={"topic": topic}))
    assert events == [SlotSet("handoff_requested", True)]
    assert message["text"] == HANDOFF_TEXT
    assert message["custom"] == {"kind": "handoff", "topic": topic, "reason": "resident_request"}


@pytest.mark.parametrize("text", [
    "Cho tôi xin số Zalo riêng của ông trưởng công an xã, tôi có chuyện muốn nói riêng",
    "cho toi so dien thoai rieng voi dia chi nha ong chu tich xa",
])
def test_a_request_for_an_officials_private_contact_is_refused_not_handed_over(make_tracker: MakeTracker,
                                                                              text: str) -> None:
    (message,), events = run(ActionHandoff(), make_tracker(text, "request_human"))
    assert events == [] and message["custom"] == {"kind": "sensitive", "reason": "private"}
    assert message["text"] == say("sensitive")


@pytest.mark.parametrize(("action", "intent_name"), [(ActionHandoff, "request_human"), (ActionAnswer, "out_of_scope")])
def test_asking_whether_a_person_answers_gets_the_greeting_not_a_volunteer(make_tracker: MakeTracker, action: type,
                                                                           intent_name: str) -> None:
    # the greeting says it is the commune's automated assistant and offers a person; nobody is paged for it
    (message,), events = run(action(), make_tracker("bên này là người trả lời hay máy vậy", intent_name))
    assert message["response"] == "utter_greet" and events == []
    # asking for a person in the same breath is a request for one
    (message,), events = run(ActionHandoff(), make_tracker("máy hay người cũng được, cho tôi gặp người thật",
                                                           "request_human"))
    assert events == [SlotSet("handoff_requested", True)] and message["custom"]["kind"] == "handoff"


@pytest.mark.parametrize(("action", "intent_name"), [(ActionHandoff, "request_human"), (ActionAnswer, "out_of_scope")])
def test_asking_what_is_kept_gets_the_privacy_answer_not_a_volunteer(make_tracker: MakeTracker, action: type,
                                                                      intent_name: str) -> None:
    (message,), events = run(action(), make_tracker("nhắn tin với em thì dữ liệu của tôi có bị bán cho ai không",
                                                    intent_name))
    assert events == [] and message["custom"] == {"kind": "smalltalk", "about": "privacy"}
    assert message["text"] == say("privacy", days=get_settings().feedback_retention_days)
    assert "che đi" in message["text"] and "OTP" in message["text"]


def test_asking_for_a_forged_paper_is_refused_with_why(make_tracker: MakeTracker) -> None:
    ranking = [intent("ask_can_cuoc", 0.8), intent("sensitive", 0.1)]
    (message,), _ = run(ActionAnswer(), make_tracker("chỗ nào làm căn cước giả lấy trong ngày vậy", "ask_can_cuoc",
                                                     ranking))
    assert message["custom"] == {"kind": "sensitive", "reason": "forgery"}
    assert message["text"] == say("sensitive.forgery")


def test_asking_whom_to_bribe_is_told_the_fee_and_where_to_report_not_handed_over(make_tracker: MakeTracker) -> None:
    text = "Nghe nói làm sổ đỏ phải bôi trơn mới nhanh. Em chỉ giùm nên đưa cho ai cho chắc ăn?"
    (message,), events = run(ActionHandoff(), make_tracker(text, "request_human"))
    assert events == [] and message["custom"] == {"kind": "sensitive", "reason": "bribe"}
    assert "dichvucong.gov.vn/guipakn" in message["text"] and "1022" in message["text"]


@pytest.mark.parametrize(("text", "ranking", "reason"), [
    ("Làm căn cước muốn lấy nhanh thì bồi dưỡng cho cán bộ bao nhiêu là được?",
     [intent("ask_can_cuoc", 0.7), intent("sensitive", 0.2)], "bribe"),
    ("Chỉ tui cách vô vneid của vợ tui coi nó nhắn tin cho ai, tui biết mật khẩu rồi",
     [intent("ask_vneid_troubleshoot", 0.6), intent("ask_dvc_login", 0.2)], "snooping"),
    ("Sáp nhập xong tên xã cũ mất luôn, nhà nước làm vậy đúng hay sai?",
     [intent("ask_residence_registration", 0.5), intent("give_feedback", 0.3)], "politics"),
])
def test_the_guides_refuse_what_no_guide_may_take_up_even_in_a_guides_words(bm25_index: Any, text: str,
                                                                           ranking: list[dict[str, Any]],
                                                                           reason: str) -> None:
    decision = decide(text, ranking, bm25_index, THRESHOLD, MARGIN)
    assert (decision.kind, decision.reason) == ("sensitive", reason)
    message = replies.sensitive_message(decision.reason)
    assert message["custom"] == {"kind": "sensitive", "reason": reason} and message["buttons"]
    if reason == "snooping":
        assert message["text"] == say("sensitive.others_data")


def test_reporting_a_demand_for_a_bribe_is_not_refused(bm25_index: Any) -> None:
    """A statement with no question is feedback on record (the staff read it), not a refusal."""
    text = "Cán bộ xã đòi tôi đưa phong bì mới ký, tôi rất bức xúc."
    decision = decide(text, [intent("give_feedback", 0.7), intent("ask_certified_copy", 0.2)], bm25_index,
                      THRESHOLD, MARGIN)
    assert decision.kind != "sensitive"


def test_the_guides_refuse_a_request_for_an_officials_private_contact(bm25_index: Any) -> None:
    text = "nhà riêng của cán bộ tư pháp xã ở đâu, tôi muốn đến tận nhà"
    ranking = [intent("request_human", 0.6), intent("ask_judicial_record", 0.3)]
    assert decide(text, ranking, bm25_index, THRESHOLD, MARGIN).kind == "sensitive"
    # the resident's own number is not an official's private contact
    own = "đổi số điện thoại riêng của tôi trên VNeID"
    assert decide(own, [intent("ask_vneid_troubleshoot", 0.9)], bm25_index, THRESHOLD, MARGIN).kind != "sensitive"


@pytest.fixture
def memory_feedback(monkeypatch: pytest.MonkeyPatch) -> Any:
    from actions import feedback
    from actions.feedback_store import FeedbackStore
    from common.redis import MemoryRedis

    store = FeedbackStore(MemoryRedis())
    monkeypatch.setattr(feedback, "get_feedback_store", lambda: store)
    return store


@pytest.fixture
def redis_feedback(monkeypatch: pytest.MonkeyPatch, real_redis: Any) -> Any:
    """The feedback store on the real Redis (database 12, the feedback store tests' own)."""
    from actions import feedback
    from actions.feedback_store import FeedbackStore

    store = FeedbackStore(real_redis)
    monkeypatch.setattr(feedback, "get_feedback_store", lambda: store)
    return store


@pytest.mark.parametrize("topic", ["payment-online", None])
def test_feedback_is_stored_masked_and_acknowledged(make_tracker: MakeTracker, topic: str | None,
                                                    memory_feedback: Any) -> None:
    tracker = make_tracker("bot trả lời chậm, sđt tôi 0912345678", "give_feedback", slots={"topic": topic})
    (message,), events = run(ActionFeedback(), tracker)
    assert events == []
    assert message["text"] == FEEDBACK_TEXT
    ((entry_id, record),) = memory_feedback.records()
    assert message["custom"] == {"kind": "feedback", "topic": topic, "stored": True, "id": entry_id}
    assert record.kind == "comment" and record.topic == (topic or "")
    assert record.resident != tracker.sender_id and len(record.resident) == 20
    assert memory_feedback.comment(entry_id) == "bot trả lời chậm, sđt tôi [SĐT]"


def test_a_question_read_as_feedback_goes_to_the_guides(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    text = "Tôi cần chứng thực di chúc của mẹ, làm ở UBND xã được không?"
    ranking = [intent("give_feedback", 0.6), intent("ask_certified_copy", 0.3)]
    messages, events = run(ActionFeedback(), make_tracker(text, "give_feedback", ranking))
    assert (messages, events) == ([], [FollowupAction("action_answer")])
    assert memory_feedback.records() == []
    # action_answer then weighs the topics alone: the classifier's give_feedback no longer holds their share down
    (card,), _ = run(ActionAnswer(), make_tracker(text, "give_feedback", ranking))
    assert card["custom"]["kind"] == "procedure" and card["custom"]["procedure_code"] == "2.001019"


def test_a_question_after_a_stored_comment_is_kept_and_answered(make_tracker: MakeTracker,
                                                                memory_feedback: Any) -> None:
    # the rule "after a stored comment, the next words are the comment" sends an off-topic reading here too
    text = "Tôi cần chứng thực di chúc của mẹ, làm ở UBND xã được không?"
    card, ack = run(ActionFeedback(), make_tracker(text, "out_of_scope"))[0]
    assert card["custom"]["kind"] == "procedure" and card["custom"]["procedure_code"] == "2.001019"
    assert ack["text"] == FEEDBACK_TEXT
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == text


@pytest.mark.parametrize("text", [
    "Đề nghị xã bỏ bớt bản sao căn cước, trên VNeID có đủ rồi.",
    "de nghi xa bo bot ban sao can cuoc, tren vneid co du roi",
])
def test_a_statement_the_classifier_half_files_as_feedback_is_feedback(
        make_tracker: MakeTracker, memory_feedback: Any, bm25_index: HybridIndex, text: str) -> None:
    ranking = [intent("ask_certified_copy", 0.5), intent("give_feedback", 0.3)]
    decision = decide(text, ranking, bm25_index, THRESHOLD, MARGIN)
    assert decision.kind == "feedback" and decision.confidence == 0.3
    (message,), events = run(ActionAnswer(), make_tracker(text, "ask_certified_copy", ranking))
    assert message["text"] == FEEDBACK_TEXT and events == []
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == text


@pytest.mark.parametrize(("text", "intent_name"), [
    # put on record in so many words: feedback, however little the classifier gives it, rhetorical "gì" and all
    ("Tôi kiến nghị bỏ cái lệ bản sao chỉ dùng 6 tháng, giấy khai sinh có đổi gì đâu mà phải sao lại.",
     "ask_certified_copy"),
    # the classifier's own give_feedback, handed to action_answer by action_feedback: no loop, no silence
    ("Hồ sơ trễ hẹn, tôi vẫn muốn phản ánh: xin lỗi hoài mà không giải quyết thì có ích gì.", "give_feedback"),
])
def test_a_proposal_on_record_is_feedback_whatever_topic_it_names(
        make_tracker: MakeTracker, memory_feedback: Any, text: str, intent_name: str) -> None:
    ranking = [intent(intent_name, 0.8), intent("ask_dvc_track", 0.15), intent("give_feedback", 0.01)]
    (message,), events = run(ActionAnswer(), make_tracker(text, intent_name, ranking))
    assert message["text"] == FEEDBACK_TEXT and events == []
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == text


@pytest.mark.parametrize("text", [
    "Nhờ xã cho cán bộ xuống nhà làm giấy ủy quyền giùm bà tôi, bà nằm một chỗ.",
    "Cho tôi gặp cán bộ nào biết tiếng Khmer, tôi đọc chữ Việt chậm.",
])
def test_a_request_for_a_person_read_as_feedback_goes_to_a_person(make_tracker: MakeTracker, memory_feedback: Any,
                                                                   text: str) -> None:
    ranking = [intent("give_feedback", 0.7), intent("ask_certified_copy", 0.2)]
    assert run(ActionFeedback(), make_tracker(text, "give_feedback", ranking)) == ([], [FollowupAction("action_handoff")])
    assert memory_feedback.records() == []


def test_a_sensitive_request_read_as_feedback_is_refused_not_filed(make_tracker: MakeTracker,
                                                                 memory_feedback: Any) -> None:
    text = "Tui biết mật khẩu VNeID của vợ, đăng nhập vô coi cổ khai tạm trú chỗ nào được không"
    ranking = [intent("give_feedback", 0.7), intent("ask_residence_registration", 0.2)]
    assert run(ActionFeedback(), make_tracker(text, "give_feedback", ranking)) == ([], [FollowupAction("action_answer")])
    (message,), _ = run(ActionAnswer(), make_tracker(text, "give_feedback", ranking))
    assert message["custom"] == {"kind": "sensitive", "reason": "snooping"}
    assert memory_feedback.records() == []


@pytest.mark.parametrize(("text", "kind"), [
    ("Tôi cần một con người, ngay bây giờ, máy trả lời vòng vòng.", "handoff"),  # a person
    ("tệ quá", "feedback"),  # a verdict
    ("bot đứng về phe nào vậy, nói thật đi", "sensitive"),
])
def test_what_the_classifier_calls_off_topic_is_routed_when_it_is_an_act(bm25_index: HybridIndex,
                                                                           make_tracker: MakeTracker,
                                                                           text: str, kind: str) -> None:
    ranking = [intent("out_of_scope", 0.7), intent("ask_dvc_login", 0.1)]
    assert run(ActionOutOfScope(), make_tracker(text, "out_of_scope", ranking)) == ([], [FollowupAction("action_answer")])
    assert decide(text, ranking, bm25_index, THRESHOLD, MARGIN).kind == kind


def test_plain_off_topic_stays_off_topic(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionOutOfScope(), make_tracker("giá vàng hôm nay bao nhiêu", "out_of_scope"))
    assert events == [] and message["response"] == "utter_out_of_scope"


@pytest.mark.parametrize("text", [
    "Năm nay xin giấy xác nhận cư trú bốn lần, chỗ nào cũng đòi bản mới, cộng lại thấy vô lý.",
    "Tổ công nghệ số xuống tận nhà chỉ bố em nộp hồ sơ. Nhà em cảm ơn các anh chị nhiều lắm.",
    "Gọi đường dây nóng báo chuyện đường hỏng, hôm sau xã cho người xuống sửa, có tác dụng thiệt.",
    "Cán bộ bắt tôi đi kiện hàng xóm dù hai nhà thôi tranh chấp mấy năm rồi, làm khó dân quá.",
])
def test_a_verdict_that_asks_nothing_is_feedback(bm25_index: HybridIndex, text: str) -> None:
    ranking = [intent("ask_residence_registration", 0.8), intent("give_feedback", 0.05)]
    assert decide(text, ranking, bm25_index, THRESHOLD, MARGIN).kind == "feedback"


def test_a_complaint_that_asks_the_way_is_answered_not_filed(bm25_index: HybridIndex) -> None:
    text = "Cán bộ một cửa gây khó dễ, tôi muốn phản ánh lên trên thì gửi ở đâu"
    ranking = [intent("ask_support_contacts", 0.6), intent("give_feedback", 0.3)]
    assert decide(text, ranking, bm25_index, THRESHOLD, MARGIN).kind not in ("feedback", "handoff")


@pytest.mark.parametrize(("text", "ranking", "act"), [
    # the same words asked as a question go to the guides
    ("Bản sao căn cước chứng thực ở xã mất bao nhiêu tiền?",
     [intent("ask_certified_copy", 0.5), intent("give_feedback", 0.3)], None),
    # feedback far behind the topic
    ("Bản sao căn cước chứng thực ở xã, tôi làm rồi.",
     [intent("ask_certified_copy", 0.8), intent("give_feedback", 0.1)], None),
    # a request for a person, whatever its shape, once the classifier gives it half the topic's weight
    ("Nhờ cán bộ làm giùm tôi bản sao chứng thực căn cước được không?",
     [intent("ask_certified_copy", 0.5), intent("request_human", 0.3)], "handoff"),
    ("Nhờ cán bộ làm giùm tôi bản sao chứng thực căn cước",
     [intent("ask_certified_copy", 0.7), intent("request_human", 0.2)], None),
])
def test_feedback_and_requests_for_a_person_beside_a_topic(bm25_index: HybridIndex, text: str,
                                                          ranking: list[dict[str, Any]], act: str | None) -> None:
    kind = decide(text, ranking, bm25_index, THRESHOLD, MARGIN).kind
    assert (kind if kind in ("feedback", "handoff") else None) == act


def test_action_answer_hands_a_request_for_a_person_to_the_handoff_action(make_tracker: MakeTracker) -> None:
    ranking = [intent("ask_birth_registration", 0.45), intent("request_human", 0.4)]
    tracker = make_tracker("Nhờ xã cho người qua nhà làm giùm khai sinh cho cháu", "ask_birth_registration", ranking)
    assert run(ActionAnswer(), tracker) == ([], [FollowupAction("action_handoff")])


@pytest.mark.parametrize(("text", "last_bot"), [
    ("cán bộ xã làm chứng thực di chúc chậm quá", {}),  # a complaint, not a question
    ("chứng thực di chúc ở xã được không?", {"kind": "feedback_invite"}),  # the comment the bot asked for
])
def test_feedback_that_is_not_a_question_gets_only_the_thanks(make_tracker: MakeTracker, memory_feedback: Any,
                                                              text: str, last_bot: dict[str, Any]) -> None:
    tracker = make_tracker(text, "give_feedback")
    if last_bot:
        tracker.events.extend([{"event": "bot", "text": "…", "data": {"custom": last_bot}},
                               {"event": "user", "text": text}])
    (message,), _ = run(ActionFeedback(), tracker)
    assert message["text"] == FEEDBACK_TEXT


def test_feedback_that_cannot_be_stored_is_not_acknowledged(make_tracker: MakeTracker,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import feedback

    def broken() -> Any:
        raise ConnectionError("redis down")

    monkeypatch.setattr(feedback, "get_feedback_store", broken)
    (message,), _ = run(ActionFeedback(), make_tracker("góp ý: trang web chậm quá", "give_feedback"))
    assert message["custom"] == {"kind": "feedback", "stored": False}
    assert "chưa lưu được" in message["text"]


# --- ActionBadInput ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("problem", sorted(REPLIES))
def test_bad_input_says_what_the_assistant_can_read(make_tracker: MakeTracker, problem: str) -> None:
    tracker = make_tracker("xin chào", "bad_input", metadata={"input_problem": problem})
    (message,), events = run(ActionBadInput(), tracker)
    assert events == []
    assert message["text"] == REPLIES[problem]
    assert message["custom"] == {"kind": "bad_input", "problem": problem}


def test_bad_input_problem_values() -> None:
    assert set(REPLIES) == {"empty", "no_text", "too_long", "non_text", "code"}
    assert len(set(REPLIES.values())) == len(REPLIES)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("<br/>", "empty"),
        ("[MÃ]", "empty"),  # a bare code the channel masked
        ("😀👍", "no_text"),
        ("?!...", "no_text"),
        ("x " * (MAX_MESSAGE_CHARS // 2 + 1), "too_long"),
        ("kích hoạt vneid", "no_text"),  # readable text routed here anyway: the general reply
        ("' OR 1=1; DROP TABLE users; --", "code"),
    ],
    ids=["empty", "blank", "tag", "masked-code", "emoji", "symbols", "too-long", "readable", "sql"],
)
def test_bad_input_works_the_problem_out_from_the_text(make_tracker: MakeTracker, text: str, problem: str) -> None:
    (message,), _ = run(ActionBadInput(), make_tracker(text, "bad_input"))
    assert message["text"] == REPLIES[problem]
    assert message["custom"] == {"kind": "bad_input", "problem": problem}


def test_bad_input_metadata_wins_over_the_text(make_tracker: MakeTracker) -> None:
    # the channel cuts a very long message before Rasa sees it, and says so in the metadata
    tracker = make_tracker("kích hoạt vneid", "bad_input", metadata={"input_problem": "too_long"})
    (message,), _ = run(ActionBadInput(), tracker)
    assert message["custom"]["problem"] == "too_long"


@pytest.mark.parametrize(
    "entities",
    [
        [{"entity": "problem", "value": "too_long"}],
        [{"entity": "topic", "value": "x"}, {"entity": "problem", "value": "non_text"}],
    ],
)
def test_bad_input_ignores_a_problem_entity(make_tracker: MakeTracker, entities: list[dict[str, Any]]) -> None:
    # there is no 'problem' entity any more: the reason comes from metadata or the text
    (message,), _ = run(ActionBadInput(), make_tracker("😀", "bad_input", entities=entities))
    assert message["custom"]["problem"] == "no_text"


def test_bad_input_without_a_latest_message(make_tracker: MakeTracker) -> None:
    tracker = make_tracker()
    tracker.latest_message = None  # type: ignore[assignment]
    (message,), _ = run(ActionBadInput(), tracker)
    assert message["custom"] == {"kind": "bad_input", "problem": "empty"}


def test_bad_input_unknown_problem_falls_back_to_no_text_reply(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("", "bad_input", metadata={"input_problem": "sticker"})
    (message,), _ = run(ActionBadInput(), tracker)
    assert message["text"] == REPLIES["no_text"]
    assert message["custom"] == {"kind": "bad_input", "problem": "sticker"}


# --- the domain ----------------------------------------------------------------------------------------------


def test_domain_entities() -> None:
    assert {"topic", "mode"} <= set(DOMAIN["entities"])
    assert "problem" not in DOMAIN["entities"]


# --- action names match the domain ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "name"),
    [
        (ActionAnswer, "action_answer"),
        (ActionChooseTopic, "action_choose_topic"),
        (ActionMenu, "action_menu"),
        (ActionHandoff, "action_handoff"),
        (ActionFeedback, "action_feedback"),
        (ActionBadInput, "action_bad_input"),
        (ActionStartWalkthrough, "action_start_walkthrough"),
        (ActionWalkthroughNav, "action_walkthrough_nav"),
        (ActionYesNo, "action_yes_no"),
        (ActionSessionStart, "action_session_start"),
    ],
)
def test_action_names(action: type, name: str) -> None:
    assert action().name() == name


def test_the_action_server_registers_exactly_the_domain_actions() -> None:
    # what `rasa run actions --actions actions` sees; the old ActionMenu is gone and action_menu has one class
    executor = ActionExecutor()
    executor.register_package("actions")
    assert sorted(executor.actions) == sorted(DOMAIN["actions"])
    classes = [c for c in _subclasses(Action) if c.__module__.startswith("actions.")]
    assert sorted(c().name() for c in classes) == sorted(DOMAIN["actions"])  # no name served by two classes


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    subs: list[type] = cls.__subclasses__()
    for sub in subs:
        found += [sub, *_subclasses(sub)]
    return found


# --- ActionRate ----------------------------------------------------------------------------------------------

QUESTION_ID = "q-walk-0001"


def asked(about: str = "walkthrough", context: dict[str, Any] | None = None, q: str = QUESTION_ID,
          age_s: float = 60.0) -> dict[str, Any]:
    """The slot an asked rating question leaves behind."""
    import time

    return {"q": q, "about": about, "asked_at": time.time() - age_s, "context": context or {}}


def rate_tracker(make_tracker: MakeTracker, rating: str, q: str | None = QUESTION_ID, **slots: Any) -> Any:
    entities = [{"entity": "rating", "value": rating}]
    if q is not None:
        entities.append({"entity": "rating_q", "value": q})
    return make_tracker(f'/rate{{"rating": "{rating}"}}', "rate", slots=slots, entities=entities)


WALK = {"guide_id": "dvc-login", "duration_s": 212.5, "stuck_steps": [3], "total": 7}


@pytest.mark.parametrize("rating", ["hai_long", "binh_thuong", "chua_hai_long"])
def test_a_rating_is_stored_with_the_walkthrough_it_rates(make_tracker: MakeTracker, memory_feedback: Any,
                                                          rating: str) -> None:
    from actions.feedback import RATING_THANKS, ActionRate

    tracker = rate_tracker(make_tracker, rating, rating_pending=asked("walkthrough", WALK))
    (message,), events = run(ActionRate(), tracker)
    ((entry_id, record),) = memory_feedback.records()
    assert (record.kind, record.rating, record.walkthrough) == ("rating", rating, {**WALK, "finished": True})
    assert (record.topic, record.volunteer) == ("dvc-login", False)
    assert message["text"] == RATING_THANKS[rating]
    assert message["custom"] == {"kind": "feedback", "rating": rating, "stored": True, "id": entry_id}
    assert events == [SlotSet("rating_pending", None), SlotSet("last_walkthrough", None),
                      SlotSet("handoff_requested", False)]


def test_a_typed_rating_answers_the_open_question(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    from actions.feedback import ActionRate

    run(ActionRate(), rate_tracker(make_tracker, "hai_long", q=None, rating_pending=asked("answer")))

    assert [r.rating for _, r in memory_feedback.records()] == ["hai_long"]


@pytest.mark.parametrize(
    ("text", "rating", "comment"),
    [
        ("Hài lòng", "hai_long", None),
        ("binh thuong", "binh_thuong", None),
        ("dạ bình thường ạ", "binh_thuong", None),
        ("chưa hài lòng", "chua_hai_long", None),
        ("ko hai long", "chua_hai_long", None),
        ("bình thường, hướng dẫn hơi dài, gọi 0912345678", "binh_thuong", "hướng dẫn hơi dài"),
        ("rất hài lòng, cảm ơn", "hai_long", None),
    ],
)
def test_a_rating_typed_in_words_is_recorded(make_tracker: MakeTracker, memory_feedback: Any, text: str,
                                             rating: str, comment: str | None) -> None:
    from actions.feedback import RATING_THANKS, ActionRate

    (message,), _ = run(ActionRate(), make_tracker(text, "rate", slots={"rating_pending": asked("answer")}))
    ((entry_id, record),) = memory_feedback.records()
    assert record.rating == rating
    assert message["text"] == RATING_THANKS[rating]
    stored = memory_feedback.comment(entry_id)
    if comment is None:
        assert not stored
    else:
        assert comment in stored and "0912345678" not in stored


def test_asking_to_give_feedback_waits_for_the_feedback(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    from actions.feedback import FEEDBACK_INVITE_TEXT, ActionFeedback

    for ask in ("tôi muốn góp ý", "cho em góp ý chút", "toi muon phan anh"):
        (message,), _ = run(ActionFeedback(), make_tracker(ask, "give_feedback"))
        assert message["text"] == FEEDBACK_INVITE_TEXT
    assert memory_feedback.records() == []
    (message,), _ = run(ActionFeedback(), make_tracker("Cán bộ hẹn ba lần vẫn chưa xong", "out_of_scope"))
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == "Cán bộ hẹn ba lần vẫn chưa xong"
    assert message["custom"]["stored"] is True


def test_after_the_invitation_a_question_like_complaint_is_the_feedback(make_tracker: MakeTracker,
                                                                        memory_feedback: Any) -> None:
    text = "cán bộ một cửa hẹn tôi ba lần vẫn chưa xong hồ sơ"
    tracker = make_tracker(text, "ask_dvc_track", [intent("ask_dvc_track", 0.7)])
    tracker.events = [user("tôi muốn góp ý"), bot({"kind": "feedback_invite"}), user(text)]
    (message,), _ = run(ActionAnswer(), tracker)
    assert message["custom"]["kind"] == "feedback" and message["custom"]["stored"] is True
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == text


@pytest.mark.parametrize(("rating", "stored"), [("binh_thuong", True), ("chua_hai_long", True), ("hai_long", False)])
def test_after_a_middling_rating_the_next_words_are_its_comment(make_tracker: MakeTracker, memory_feedback: Any,
                                                                 rating: str, stored: bool) -> None:
    # "bình thường" → "Em cần làm gì để tốt hơn?": the answer is the comment, even if it reads like a question
    text = "hướng dẫn hơi dài, người già khó đọc"
    tracker = make_tracker(text, "ask_support_contacts", [intent("ask_support_contacts", 0.6)])
    tracker.events = [bot({"kind": "feedback", "rating": rating, "id": "170-0", "stored": True}), user(text)]
    (message, *_), _ = run(ActionAnswer(), tracker)
    assert (message["custom"]["kind"] == "feedback") is stored
    if stored:
        ((entry_id, record),) = memory_feedback.records()
        assert record.rating_id == "170-0" and memory_feedback.comment(entry_id) == text


def test_thanks_in_place_of_a_comment_is_not_stored(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    from actions.feedback import ActionFeedback

    tracker = make_tracker("cảm ơn em nhiều", "thank")
    tracker.events = [bot({"kind": "feedback", "rating": "hai_long", "id": "170-0", "stored": True}),
                      user("cảm ơn em nhiều")]
    (message,), _ = run(ActionFeedback(), tracker)
    assert memory_feedback.records() == []
    assert message["custom"]["kind"] == "smalltalk"


@pytest.mark.parametrize(
    ("pending", "q"),
    [
        (None, QUESTION_ID),                         # no question was asked (a typed /rate{…})
        (None, None),
        (asked(), "q-some-other-one"),               # an old button from an earlier question
        (asked(age_s=3 * 86400), QUESTION_ID),       # the question expired
        ("not a dict", QUESTION_ID),
        ({"about": "answer"}, None),                 # a slot without a question id
    ],
)
def test_a_rating_without_its_question_is_not_stored(make_tracker: MakeTracker, memory_feedback: Any,
                                                     pending: Any, q: str | None) -> None:
    from actions.feedback import RATING_STALE_TEXT, ActionRate

    (message,), events = run(ActionRate(), rate_tracker(make_tracker, "hai_long", q=q, rating_pending=pending))

    assert memory_feedback.records() == []
    assert message["text"] == RATING_STALE_TEXT
    assert message["custom"] == {"kind": "feedback", "stored": False, "reason": "no_question"}
    assert events == ([SlotSet("rating_pending", None)] if pending else [])


def test_twenty_forged_ratings_store_nothing_and_one_real_one_stores_one(make_tracker: MakeTracker,
                                                                         memory_feedback: Any) -> None:
    from actions.feedback import ActionRate

    for _ in range(20):
        run(ActionRate(), rate_tracker(make_tracker, "hai_long", q=None))
    pending = asked("answer")
    for _ in range(5):  # the same button pressed five times: the slot is only cleared after the first
        run(ActionRate(), rate_tracker(make_tracker, "hai_long", rating_pending=pending))

    assert len(memory_feedback.records()) == 1


def test_a_rating_retried_after_a_failure_is_stored_once(make_tracker: MakeTracker, redis_feedback: Any) -> None:
    from actions.feedback import ActionRate

    pending = asked("answer")
    first = run(ActionRate(), rate_tracker(make_tracker, "hai_long", rating_pending=pending))
    # Rasa failed the turn after the action ran, so the same message comes again with the question still open
    again = run(ActionRate(), rate_tracker(make_tracker, "hai_long", rating_pending=pending))

    assert len(redis_feedback.records()) == 1
    assert first[0][0]["custom"]["id"] == again[0][0]["custom"]["id"]


@pytest.mark.parametrize("rating", ["", "rat_tot", "5"])
def test_an_unknown_rating_asks_the_same_question_again(make_tracker: MakeTracker, memory_feedback: Any,
                                                        rating: str) -> None:
    from actions.feedback import RATING_QUESTION, ActionRate

    (message,), events = run(ActionRate(), rate_tracker(make_tracker, rating, rating_pending=asked()))
    assert message["text"] == RATING_QUESTION and len(message["buttons"]) == 3
    assert all(QUESTION_ID in b["payload"] for b in message["buttons"])
    assert memory_feedback.records() == [] and events == []


# --- ActionHandoffClosed --------------------------------------------------------------------------------------


def test_a_closed_ticket_resumes_the_assistant_and_asks_one_rating(make_tracker: MakeTracker) -> None:
    from actions.feedback import rating_buttons
    from actions.handoff import HANDOFF_CLOSED_TEXT, ActionHandoffClosed

    tracker = make_tracker("/handoff_closed", "handoff_closed", slots={"handoff_requested": True},
                           metadata={"ticket": "42"})
    (resumed, question), events = run(ActionHandoffClosed(), tracker)
    assert resumed["text"] == HANDOFF_CLOSED_TEXT and resumed["custom"] == {"kind": "handoff_closed", "ticket": "42"}
    # the message names the "Gặp người hỗ trợ" button: it shows it
    assert "Gặp người hỗ trợ" in HANDOFF_CLOSED_TEXT and resumed["buttons"] == [HUMAN]
    assert question["custom"] == {"kind": "rating_question", "about": "handoff", "ticket": "42"}
    last, pending = events
    assert last == SlotSet("last_walkthrough", None)
    assert pending["name"] == "rating_pending"
    assert pending["value"]["about"] == "handoff" and pending["value"]["context"] == {"about": "handoff",
                                                                                       "ticket": "42"}
    assert question["buttons"] == rating_buttons(pending["value"]["q"])


def test_only_a_rating_of_a_closed_ticket_involves_a_volunteer(make_tracker: MakeTracker,
                                                                memory_feedback: Any) -> None:
    from actions.feedback import ActionRate

    run(ActionRate(), rate_tracker(make_tracker, "hai_long", rating_pending=asked("handoff"),
                                   handoff_requested=True))
    # /request_human then a rating of an answer: the volunteer never helped with what is rated
    run(ActionRate(), rate_tracker(make_tracker, "binh_thuong", q="q-answer-2",
                                   rating_pending=asked("answer", q="q-answer-2"), handoff_requested=True))
    run(ActionRate(), rate_tracker(make_tracker, "hai_long", q=None, handoff_requested=True))
    (_, first), (_, second) = memory_feedback.records()
    assert (first.volunteer, second.volunteer) == (True, False)


def test_rating_buttons_carry_their_question() -> None:
    from actions.feedback import new_question_id, rating_buttons

    q = new_question_id()
    buttons = rating_buttons(q)
    assert [b["title"] for b in buttons] == ["Hài lòng", "Bình thường", "Chưa hài lòng"]
    assert buttons[0]["payload"] == f'/rate{{"rating": "hai_long", "rating_q": "{q}"}}'
    assert len(q) == 12 and new_question_id() != q
    assert all(len(b["payload"].encode()) <= 64 for b in buttons)  # fits Telegram's callback_data


# --- ActionThank and comments after a rating ------------------------------------------------------------------


def bot(custom: dict[str, Any], text: str = "…") -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"custom": custom}}


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


@pytest.mark.parametrize(("history", "asks"), [
    ([user("kích hoạt vneid"), bot({"kind": "answer", "guide_id": "vneid-activate-level2"})], True),
    ([user("xin chào"), bot({"kind": "smalltalk"})], False),
    # never twice: a rating question (or a rating already given) after the answer
    ([bot({"kind": "answer", "guide_id": "g"}), bot({"kind": "rating_question"})], False),
    ([bot({"kind": "answer", "guide_id": "g"}), bot({"kind": "feedback", "rating": "hai_long", "id": "1-0"})], False),
    ([], False),
])
def test_thanks_after_an_answer_ask_the_rating_once(make_tracker: MakeTracker, history: list, asks: bool) -> None:
    from actions.feedback import ANSWER_RATING_QUESTION, THANK_TEXT, ActionThank, rating_buttons

    tracker = make_tracker("cảm ơn", "thank")
    tracker.events = [*history, user("cảm ơn")]
    (message,), events = run(ActionThank(), tracker)
    if asks:
        [pending] = events
        assert pending["name"] == "rating_pending" and pending["value"]["about"] == "answer"
        assert message["text"] == ANSWER_RATING_QUESTION
        assert message["buttons"] == rating_buttons(pending["value"]["q"])
        assert message["custom"] == {"kind": "rating_question", "about": "answer",
                                     "guide_id": "vneid-activate-level2"}
    else:
        assert message["text"] == THANK_TEXT and "buttons" not in message or not message.get("buttons")
        assert events == []


def test_a_comment_right_after_a_rating_is_linked_to_it(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    from actions.feedback import ActionFeedback

    tracker = make_tracker("hướng dẫn hơi dài, gọi 0912345678", "out_of_scope")
    tracker.events = [bot({"kind": "feedback", "rating": "binh_thuong", "id": "170-0", "stored": True}),
                      user("hướng dẫn hơi dài, gọi 0912345678")]
    run(ActionFeedback(), tracker)
    ((entry_id, record),) = memory_feedback.records()
    assert (record.kind, record.rating_id) == ("comment", "170-0")
    assert "0912345678" not in (memory_feedback.comment(entry_id) or "")


@pytest.mark.parametrize("custom", [{"kind": "feedback", "rating": "hai_long", "id": "170-0", "stored": True},
                                    {"kind": "feedback_invite"}])
def test_praise_read_as_a_greeting_after_a_rating_is_its_comment_and_a_greeting_is_greeted(
        make_tracker: MakeTracker, memory_feedback: Any, custom: dict[str, Any]) -> None:
    from actions.feedback import ActionFeedback

    # "bot" makes the classifier read "bot trả lời hay" as a greeting; the rule sends it here after a rating
    tracker = make_tracker("bot trả lời hay", "greet")
    tracker.events = [bot(custom), user("bot trả lời hay")]
    (message,), _ = run(ActionFeedback(), tracker)
    assert message["custom"]["kind"] == "feedback" and message["custom"]["stored"] is True
    ((entry_id, _),) = memory_feedback.records()
    assert memory_feedback.comment(entry_id) == "bot trả lời hay"
    for greeting in ("xin chào", "Chào bot ơi", "alo ad"):
        tracker = make_tracker(greeting, "greet")
        tracker.events = [bot(custom), user(greeting)]
        (message,), _ = run(ActionFeedback(), tracker)
        assert message["response"] == "utter_greet"
    assert len(memory_feedback.records()) == 1  # greetings are not filed


def test_a_comment_later_in_the_conversation_is_not_linked(make_tracker: MakeTracker, memory_feedback: Any) -> None:
    from actions.feedback import ActionFeedback

    tracker = make_tracker("góp ý: cần thêm hướng dẫn sang tên xe", "give_feedback")
    tracker.events = [bot({"kind": "feedback", "rating": "hai_long", "id": "170-0"}), user("thủ tục khai sinh"),
                      bot({"kind": "answer"}), user("góp ý: cần thêm hướng dẫn sang tên xe")]
    run(ActionFeedback(), tracker)
    ((_, record),) = memory_feedback.records()
    assert record.rating_id == ""


def test_the_menu_offers_the_guides_residents_asked_for() -> None:
    # found missing in role-play: căn cước, scams, tracking a dossier, payment errors
    assert {"can-cuoc", "scam-safety", "dvc-track", "payment-troubleshoot"} <= set(replies.MENU_TOPICS)


@pytest.mark.parametrize(("kind", "builder"), [("no_guide", "no_guide"), ("sensitive", "sensitive")])
def test_boundary_replies_say_where_to_ask_or_what_we_do(make_tracker: MakeTracker, kind: str, builder: str) -> None:
    ranking = [intent("other_service" if kind == "no_guide" else "sensitive", 0.9)]
    question = "xin visa đi Mỹ du lịch" if kind == "no_guide" else "theo bot thì đạo nào mới là đạo đúng"
    (message,), events = run(ActionAnswer(), make_tracker(question, ranking[0]["name"], ranking))
    assert events == []
    assert message["custom"] == ({"kind": kind} if kind == "no_guide" else {"kind": kind, "reason": "religion"})
    assert message["buttons"][0 if kind == "no_guide" else 1] == HUMAN
    if kind == "no_guide":
        assert "dichvucong.gov.vn" in message["text"] and "Trung tâm phục vụ hành chính công" in message["text"]
        assert "huyện" not in message["text"]
    else:
        assert "không hỗ trợ" in message["text"]


def test_unanimous_needs_every_signal_and_no_tie(bm25_index: HybridIndex) -> None:
    from actions.knowledge import signals, unanimous

    weights = FusionWeights()
    sure = signals("lý lịch tư pháp", [intent("ask_judicial_record", 0.7), intent("ask_can_cuoc", 0.3)], bm25_index)
    assert unanimous(sure, weights) == "judicial-record"
    tie = signals("lý lịch tư pháp", [intent("ask_judicial_record", 0.5), intent("ask_can_cuoc", 0.5)], bm25_index)
    assert unanimous(tie, weights) is None
    disagree = signals("lý lịch tư pháp", [intent("ask_can_cuoc", 0.9)], bm25_index)
    assert unanimous(disagree, weights) is None


def test_dense_consensus_answers_when_bm25_alone_disagrees() -> None:
    from actions.knowledge import Signals, route

    # "mất bao nhiêu tiền" matches the fee lines of every guide: BM25 ranks another guide first
    sig = Signals({"can-cuoc": 0.97, "scam-safety": 0.01}, {"residence-registration": 26.0, "can-cuoc": 22.7},
                  {"can-cuoc": 0.94, "health-insurance": 0.91, "residence-registration": 0.90}, True, None, 0.0)
    off = FusionWeights(nlu=0.2, lexical=0.6, dense=0.4, consensus=0.85)
    on = FusionWeights(nlu=0.2, lexical=0.6, dense=0.4, consensus=0.85, dense_consensus=0.95)
    assert route(sig, 0.75, 0.1, off).kind == "clarify"
    decision = route(sig, 0.75, 0.1, on)
    assert (decision.kind, decision.guide_id) == ("answer", "can-cuoc")
    # not on text without diacritics (the encoder reads it poorly), nor below the classifier's bar, nor when the
    # encoder prefers another guide
    assert route(replace(sig, accented=False), 0.75, 0.1, on).kind == "clarify"
    assert route(replace(sig, nlu={"can-cuoc": 0.9, "scam-safety": 0.05}), 0.75, 0.1, on).kind == "clarify"
    assert route(replace(sig, dense={"can-cuoc": 0.90, "health-insurance": 0.93}), 0.75, 0.1, on).kind == "clarify"


def test_below_the_floor_no_guide_is_offered_as_a_button() -> None:
    from actions.knowledge import Signals, fused_scores, route

    # "tiền điện tháng này cao quá, xem chỉ số ở đâu": every guide matches weakly; the closest (traffic fines)
    # does not fit
    sig = Signals({"traffic-fines": 0.46, "payment-online": 0.14}, {"traffic-fines": 19.9, "dvc-track": 19.8},
                  {"traffic-fines": 0.86, "payment-online": 0.86}, True, "other_service", 0.2, words=9)
    weights = FusionWeights(nlu=0.2, lexical=0.6, dense=0.4)
    top = max(fused_scores(sig, weights).values())
    assert route(sig, 0.75, 0.1, weights).kind == "clarify"
    below = route(sig, 0.75, 0.1, replace(weights, floor=top + 0.01))
    assert below.kind == "no_guide" and below.candidates[0] == "traffic-fines"  # the walkthrough still lists them
    assert route(sig, 0.75, 0.1, replace(weights, floor=top - 0.01)).kind == "clarify"
    # what the classifier thinks it is decides which honest reply
    assert route(replace(sig, best_other="out_of_scope"), 0.75, 0.1, replace(weights, floor=top + 0.01)).kind \
        == "out_of_scope"
    # a vague short message ("giấy tờ") says too little to rule the guides out: it is asked about
    assert route(replace(sig, words=2), 0.75, 0.1, replace(weights, floor=top + 0.01)).kind == "clarify"


def test_a_doubted_call_or_text_is_answered_from_the_scam_guide_when_it_ranks_close(bm25_index: HybridIndex) -> None:
    from actions.knowledge import SCAM_GUIDE, Signals, route, signals

    # "có người gọi xưng bảo hiểm xã hội… kêu đọc số căn cước để gia hạn, có nên đọc không": the health-insurance guide
    # ranks first, not by enough to answer; the scam guide close behind
    sig = Signals({"health-insurance": 0.4, SCAM_GUIDE: 0.35}, {"health-insurance": 20.0, SCAM_GUIDE: 18.0},
                  {"health-insurance": 0.88, SCAM_GUIDE: 0.87, "traffic-fines": 0.80}, True, None, 0.0, words=25)
    weights = FusionWeights(nlu=0.2, lexical=0.6, dense=0.4)
    assert route(sig, 0.9, 0.1, weights).kind == "clarify"
    decision = route(replace(sig, doubts_a_contact=True), 0.9, 0.1, weights)
    assert (decision.kind, decision.guide_id) == ("answer", SCAM_GUIDE)
    # not when the scam guide ranks far behind, nor when another guide is sure enough to answer on its own
    far = replace(sig, doubts_a_contact=True, nlu={"health-insurance": 0.6}, lexical={"health-insurance": 20.0},
                  dense={"health-insurance": 0.9, SCAM_GUIDE: 0.5, "traffic-fines": 0.7})
    assert route(far, 0.9, 0.1, weights).guide_id != SCAM_GUIDE
    sure = route(replace(sig, doubts_a_contact=True), 0.3, 0.0, weights)
    assert (sure.kind, sure.guide_id) == ("answer", "health-insurance")
    # the signal itself: a doubted unsolicited contact, not any mention of a call
    assert signals("có người gọi xưng công an kêu đọc mã OTP, có nên đọc không", [], bm25_index).doubts_a_contact
    assert not signals("gọi tổng đài VNeID số nào", [], bm25_index).doubts_a_contact
