"""The walkthrough actions (actions/walkthrough.py), run with CollectingDispatcher and Trackers built in code.

The index is BM25-only over the real knowledge/ and the commune is the example file communes/vi-du.yml (conftest.py);
the clock is fixed so start times and durations can be compared exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import walkthrough
from actions import walkthrough_flow as flow
from actions.knowledge import ActionAnswer
from actions.retrieval.index import HybridIndex
from actions.walkthrough import (
    ActionMenu,
    ActionSessionStart,
    ActionStartWalkthrough,
    ActionWalkthroughNav,
    ActionYesNo,
    finish_message,
    step_message,
    stuck_message,
)
from common.communes import Commune, load_commune
from common.guides import load_guides
from common.text import truncate

pytestmark = pytest.mark.usefixtures("patched_index")

MakeTracker = Callable[..., Tracker]
ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
GUIDES = load_guides(ROOT / "knowledge")
EXAMPLE_COMMUNE = load_commune(ROOT / "communes" / "vi-du.yml")  # what conftest.py's patched_index serves
ZALO_LIMIT = 2000
T0 = 1_750_000_000.0
STARTED_AT = T0 - 3600.0  # walkthroughs "under way" in these tests began an hour before the fixed clock

NAV = [
    {"title": "Tiếp", "payload": "/nav_next"},
    {"title": "Quay lại", "payload": "/nav_back"},
    {"title": "Nhắc lại", "payload": "/nav_repeat"},
    {"title": "Tôi bị kẹt", "payload": "/nav_stuck"},
    {"title": "Xong rồi", "payload": "/nav_done"},
    {"title": "Menu", "payload": "/nav_menu"},
]
YES_NO = [{"title": "Có rồi", "payload": "/affirm"}, {"title": "Chưa có", "payload": "/deny"}]
HUMAN = {"title": "Gặp người hỗ trợ", "payload": "/request_human"}
MENU = {"title": "Chủ đề khác", "payload": "/nav_menu"}
INTRO = 'Em sẽ hướng dẫn từng bước. Làm xong mỗi bước, anh/chị bấm "Tiếp" nhé.\n\n'
NO_WALKTHROUGH = "Anh/chị chưa bắt đầu hướng dẫn từng bước nào."
WT_SLOTS = ["wt_guide", "wt_step", "wt_total", "wt_started_at", "wt_stuck", "wt_resume"]
CLEARED = [SlotSet(name, None) for name in WT_SLOTS]
NOT_PENDING = [SlotSet("wt_pending", None), SlotSet("wt_pending_guide", None)]


class Clock:
    """Stands in for the `time` module inside actions.walkthrough."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(T0)
    monkeypatch.setattr(walkthrough, "time", fixed)
    return fixed


# --- helpers -------------------------------------------------------------------------------------------------


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; return (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events


def apply(slots: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots after the events, as Rasa would store them."""
    after = dict(slots)
    after.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
    return after


def walking(guide_id: str, step: int, stuck: list[int] | None = None, **more: Any) -> dict[str, Any]:
    """Slots of a walkthrough under way (float slots, as Rasa stores wt_step/wt_total)."""
    return {
        "wt_guide": guide_id,
        "wt_step": float(step),
        "wt_total": float(len(GUIDES[guide_id].steps)),
        "wt_started_at": STARTED_AT,
        "wt_stuck": stuck or [],
        "wt_resume": False,
        **more,
    }


def state_slots(guide_id: str, step: int, started_at: float = STARTED_AT, stuck: list[int] | None = None) -> list[Any]:
    """The events that store a walkthrough under way."""
    return [
        SlotSet("wt_guide", guide_id),
        SlotSet("wt_step", step),
        SlotSet("wt_total", len(GUIDES[guide_id].steps)),
        SlotSet("wt_started_at", started_at),
        SlotSet("wt_stuck", stuck or []),
        SlotSet("wt_resume", False),
    ]


def custom(
    guide_id: str, event: str, step: int, started_at: float = STARTED_AT, stuck: list[int] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "kind": "walkthrough",
        "event": event,
        "guide_id": guide_id,
        "step": step,
        "total": len(GUIDES[guide_id].steps),
        "started_at": started_at,
        "stuck_steps": stuck or [],
        **more,
    }


def step_text(guide_id: str, step: int) -> str:
    """'Bước k/n — short title' and the step itself, as the message starts (after any intro)."""
    guide = GUIDES[guide_id]
    return f"Bước {step}/{len(guide.steps)} — {guide.short_title}\n\n{guide.steps[step - 1]}"


def start_tracker(make_tracker: MakeTracker, slots: dict[str, Any] | None = None, **entities: str) -> Tracker:
    payload = "/start_walkthrough" + json.dumps(entities, ensure_ascii=False)
    return make_tracker(
        payload, "start_walkthrough", entities=[{"entity": k, "value": v} for k, v in entities.items()], slots=slots
    )


def nav(make_tracker: MakeTracker, intent: str, slots: dict[str, Any] | None) -> Tracker:
    return make_tracker(f"/{intent}", intent, slots=slots)


def payload_json(payload: str, intent: str) -> dict[str, Any]:
    assert payload.startswith(f"/{intent}{{")
    return json.loads(payload[len(intent) + 1 :])


def start_button(guide_id: str, title: str | None = None) -> dict[str, str]:
    return {
        "title": title or truncate(GUIDES[guide_id].short_title, 40),
        "payload": f'/start_walkthrough{{"topic": "{guide_id}"}}',
    }


def assert_step_one(message: dict[str, Any], guide_id: str, started_at: float = T0) -> None:
    assert message["text"] == INTRO + step_text(guide_id, 1) + _local(guide_id, 1)
    assert message["buttons"] == NAV
    assert message["custom"] == custom(guide_id, "started", 1, started_at)


def _local(guide_id: str, step: int) -> str:
    """The office lines the example commune adds under a step ('' when none)."""
    details = EXAMPLE_COMMUNE.local_details(GUIDES[guide_id].steps[step - 1])
    return f"\n\n{details}" if details else ""


# --- ActionStartWalkthrough: by topic ------------------------------------------------------------------------


def test_guides_used_here_have_the_needs_the_tests_assume() -> None:
    assert GUIDES["vneid-activate"].needs == ()
    assert GUIDES["dvc-login"].needs == ("vneid-level2",)
    assert set(GUIDES["judicial-record"].needs) == {"vneid-level2", "payment-account"}
    assert set(GUIDES["payment-online"].needs) == {"vneid-level2", "payment-account"}


def test_start_asks_the_readiness_question_first(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, topic="dvc-login"))
    assert message["text"] == (
        f'Trước khi làm "{GUIDES["dvc-login"].short_title}", cho em hỏi nhanh: '
        "Anh/chị đã có tài khoản VNeID mức 2 (đã kích hoạt, đăng nhập được) chưa?"
    )
    assert message["buttons"] == YES_NO
    assert message["custom"] == {"kind": "readiness", "guide_id": "dvc-login", "need": "vneid-level2"}
    assert events == [SlotSet("wt_pending", "vneid-level2"), SlotSet("wt_pending_guide", "dvc-login")]


def test_start_asks_the_first_unanswered_need_in_fixed_order(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, topic="judicial-record"))
    assert message["custom"]["need"] == "vneid-level2"
    tracker = start_tracker(make_tracker, {"has_vneid_level2": True}, topic="judicial-record")
    (message,), events = run(ActionStartWalkthrough(), tracker)
    assert message["custom"] == {"kind": "readiness", "guide_id": "judicial-record", "need": "payment-account"}
    assert message["text"].endswith(flow.PRECONDITION_QUESTIONS["payment-account"])
    assert events == [SlotSet("wt_pending", "payment-account"), SlotSet("wt_pending_guide", "judicial-record")]


@pytest.mark.parametrize(
    ("topic", "slots"),
    [
        ("vneid-activate", {}),  # needs nothing
        ("scam-safety", {"has_vneid_level2": False}),  # needs nothing: a "no" elsewhere does not matter
        ("dvc-login", {"has_vneid_level2": True}),
        ("judicial-record", {"has_vneid_level2": True, "has_payment_account": True}),
    ],
)
def test_start_goes_straight_to_step_one(make_tracker: MakeTracker, topic: str, slots: dict[str, Any]) -> None:
    (message,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic=topic))
    assert_step_one(message, topic)
    assert message["text"].startswith(INTRO + f"Bước 1/{len(GUIDES[topic].steps)} — ")
    assert events == NOT_PENDING + state_slots(topic, 1, T0)


def test_start_with_a_missing_precondition_shows_the_checklist(make_tracker: MakeTracker) -> None:
    slots = {"has_vneid_level2": False, "has_payment_account": True}
    (message,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="judicial-record"))
    title = GUIDES["judicial-record"].short_title
    assert message["text"] == (
        f'Để làm "{title}" online, anh/chị cần chuẩn bị trước:\n'
        f"1. {flow.PRECONDITION_FIX['vneid-level2'][1]}.\n"
        "Anh/chị có thể làm những việc này trước, hoặc vẫn xem các bước ngay bây giờ."
    )
    fix = GUIDES["vneid-register-level2"]
    assert message["buttons"] == [
        start_button("vneid-register-level2", f"Hướng dẫn: {fix.short_title}"[:40]),
        {"title": "Vẫn xem các bước", "payload": '/start_walkthrough{"topic": "judicial-record", "mode": "force"}'},
    ]
    assert all(len(b["title"]) <= 40 for b in message["buttons"])
    assert message["custom"] == {"kind": "readiness", "guide_id": "judicial-record", "missing": ["vneid-level2"]}
    assert events == NOT_PENDING  # no walkthrough is stored


def test_checklist_lists_every_missing_need_with_its_fixing_walkthrough(make_tracker: MakeTracker) -> None:
    slots = {"has_vneid_level2": False, "has_payment_account": False}
    (message,), _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="judicial-record"))
    assert message["custom"]["missing"] == ["vneid-level2", "payment-account"]
    assert "\n1. Làm tài khoản VNeID mức 2" in message["text"]
    assert "\n2. Mở tài khoản ngân hàng hoặc ví điện tử" in message["text"]
    fixing = [payload_json(b["payload"], "start_walkthrough") for b in message["buttons"]]
    assert fixing == [
        {"topic": "vneid-register-level2"},
        {"topic": "support-contacts"},
        {"topic": "judicial-record", "mode": "force"},
    ]


def test_checklist_does_not_offer_the_guide_itself_as_the_fix() -> None:
    # support-contacts is how a missing payment account is fixed: no button to start what is being started
    message = walkthrough.checklist_message(GUIDES["support-contacts"], ["payment-account"], GUIDES)
    assert message["custom"]["missing"] == ["payment-account"]
    assert message["buttons"] == [
        {"title": "Vẫn xem các bước", "payload": '/start_walkthrough{"topic": "support-contacts", "mode": "force"}'}
    ]


@pytest.mark.parametrize(
    ("guide_id", "need", "others"),
    [
        pytest.param("dvc-login", "vneid-level2", {}, id="vneid-level2"),
        # no guide needs a digital signature yet: the button is checked on its own
        pytest.param("dvc-submit", "e-signature", {"has_vneid_level2": True}, id="e-signature"),
        pytest.param(
            "judicial-record",
            "payment-account",
            {"has_vneid_level2": True},
            id="payment-account",
        ),
        pytest.param("vneid-documents", "smartphone-nfc", {}, id="smartphone-nfc"),
    ],
)
def test_the_fixing_button_of_a_checklist_starts_a_walkthrough(
    make_tracker: MakeTracker, guide_id: str, need: str, others: dict[str, Any]
) -> None:
    # a resident who said "no" presses "Hướng dẫn: …" and should get steps, not be told the same thing again
    fix_id = flow.PRECONDITION_FIX[need][0]
    slots = {**others, walkthrough.READINESS_SLOTS[need]: False}
    checklist = walkthrough.checklist_message(GUIDES[guide_id], [need], GUIDES)
    (button,) = [
        b for b in checklist["buttons"] if payload_json(b["payload"], "start_walkthrough") == {"topic": fix_id}
    ]
    sent = payload_json(button["payload"], "start_walkthrough")
    messages, _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, **sent))
    assert [m["custom"].get("event") for m in messages] == ["started"]
    assert messages[0]["custom"]["guide_id"] == fix_id


@pytest.mark.parametrize(
    "slots",
    [{}, {"has_vneid_level2": False}, {"has_vneid_level2": False, "has_payment_account": False}],
    ids=["unanswered", "one-no", "two-no"],
)
def test_force_mode_skips_the_readiness_check(make_tracker: MakeTracker, slots: dict[str, Any]) -> None:
    tracker = start_tracker(make_tracker, slots, topic="judicial-record", mode="force")
    (message,), events = run(ActionStartWalkthrough(), tracker)
    assert_step_one(message, "judicial-record")
    assert events == NOT_PENDING + state_slots("judicial-record", 1, T0)


def test_force_button_of_the_checklist_reaches_step_one_through_declared_entities(make_tracker: MakeTracker) -> None:
    slots = {"has_vneid_level2": False}
    (checklist,), _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="dvc-login"))
    sent = payload_json(checklist["buttons"][-1]["payload"], "start_walkthrough")
    assert set(sent) <= set(DOMAIN["entities"])  # Rasa drops undeclared payload entities
    (message,), _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, **sent))
    assert message["custom"]["event"] == "started"


# --- ActionStartWalkthrough: from free text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ranking", "guide_id"),
    [
        (
            "hướng dẫn tôi kích hoạt vneid từng bước",
            [("start_walkthrough", 0.9), ("ask_vneid_activate", 0.08), ("ask_dvc_login", 0.02)],
            "vneid-activate",
        ),
        (
            "chỉ tôi nộp hồ sơ online từng bước",
            [("start_walkthrough", 0.95), ("ask_dvc_submit", 0.04), ("ask_payment_online", 0.01)],
            "dvc-submit",
        ),
    ],
)
def test_start_from_free_text_uses_the_topic_intents(
    make_tracker: MakeTracker, text: str, ranking: list[tuple[str, float]], guide_id: str
) -> None:
    # the start_walkthrough intent itself is left out; the topic intents' shares decide
    tracker = make_tracker(
        text, "start_walkthrough", [{"name": n, "confidence": c} for n, c in ranking], slots={"has_vneid_level2": True}
    )
    (message,), events = run(ActionStartWalkthrough(), tracker)
    assert_step_one(message, guide_id)
    assert events == NOT_PENDING + state_slots(guide_id, 1, T0)


@pytest.mark.parametrize(
    ("text", "ranking"),
    [
        ("đăng nhập", [("start_walkthrough", 0.9), ("ask_dvc_login", 0.05), ("ask_vneid_activate", 0.05)]),
        (
            "hướng dẫn tôi từng bước",
            [("start_walkthrough", 0.95), ("ask_dvc_login", 0.025), ("ask_vneid_activate", 0.025)],
        ),
    ],
)
def test_start_from_unclear_text_asks_which_walkthrough(
    make_tracker: MakeTracker, text: str, ranking: list[tuple[str, float]]
) -> None:
    tracker = make_tracker(text, "start_walkthrough", [{"name": n, "confidence": c} for n, c in ranking])
    (message,), events = run(ActionStartWalkthrough(), tracker)
    assert events == []
    assert message["text"] == "Anh/chị muốn em hướng dẫn từng bước việc nào?"
    candidates = message["custom"]["candidates"]
    assert message["custom"] == {"kind": "clarify", "candidates": candidates, "for": "walkthrough"}
    assert {"dvc-login", "vneid-activate"} <= set(candidates) and len(candidates) <= 3
    assert message["buttons"] == [start_button(g) for g in candidates] + [HUMAN]


@pytest.mark.parametrize(
    ("text", "entities"),
    [("xyzzy", []), ("", []), ("", [{"entity": "topic", "value": "no-such-guide"}])],
    ids=["gibberish", "empty", "unknown-topic"],
)
def test_start_with_nothing_to_go_on_shows_the_menu(
    make_tracker: MakeTracker, text: str, entities: list[dict[str, Any]]
) -> None:
    (message,), events = run(ActionStartWalkthrough(), make_tracker(text, "start_walkthrough", entities=entities))
    assert events == []
    assert message["custom"]["kind"] == "menu"
    assert message["buttons"][-1] == HUMAN


# --- switching walkthroughs ----------------------------------------------------------------------------------


def test_switching_to_another_procedure_abandons_the_previous_one(make_tracker: MakeTracker) -> None:
    slots = walking("dvc-submit", 3, stuck=[2])
    abandoned, started = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="vneid-activate"))[0]
    assert abandoned["text"] == (
        f'Em dừng hướng dẫn "{GUIDES["dvc-submit"].short_title}" (đang ở Bước 3/7) để chuyển sang việc mới.'
    )
    assert abandoned["custom"] == custom("dvc-submit", "abandoned", 3, stuck=[2])
    assert_step_one(started, "vneid-activate")
    _, events = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="vneid-activate"))
    assert apply(slots, events)["wt_guide"] == "vneid-activate"
    assert apply(slots, events)["wt_stuck"] == []


def test_starting_the_same_procedure_again_is_not_an_abandonment(make_tracker: MakeTracker) -> None:
    messages, events = run(
        ActionStartWalkthrough(), start_tracker(make_tracker, walking("vneid-activate", 5), topic="vneid-activate")
    )
    assert [m["custom"]["event"] for m in messages] == ["started"]
    assert events == NOT_PENDING + state_slots("vneid-activate", 1, T0)


def test_a_switch_through_the_readiness_check_is_abandoned_once(make_tracker: MakeTracker) -> None:
    slots = walking("vneid-activate", 4)
    messages, events = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="judicial-record"))
    log = [m["custom"].get("event") for m in messages]
    slots = apply(slots, events)
    for answer in ("affirm", "affirm"):
        messages, events = run(ActionYesNo(), make_tracker("có", answer, slots=slots))
        log += [m["custom"].get("event") for m in messages]
        slots = apply(slots, events)
    assert log.count("abandoned") == 1
    assert log[-1] == "started"


def test_start_survives_a_previous_walkthrough_of_a_removed_guide(make_tracker: MakeTracker) -> None:
    slots = {**walking("vneid-activate", 2), "wt_guide": "old-removed-guide"}
    messages, _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="vneid-activate"))
    assert messages[-1]["custom"]["event"] == "started"


# --- ActionYesNo ---------------------------------------------------------------------------------------------


def pending(need: str, guide_id: str, **slots: Any) -> dict[str, Any]:
    return {"wt_pending": need, "wt_pending_guide": guide_id, **slots}


def test_yes_stores_the_answer_and_starts_step_one(make_tracker: MakeTracker) -> None:
    (message,), events = run(
        ActionYesNo(), make_tracker("có rồi", "affirm", slots=pending("vneid-level2", "dvc-login"))
    )
    assert events == [SlotSet("has_vneid_level2", True), *NOT_PENDING, *state_slots("dvc-login", 1, T0)]
    assert_step_one(message, "dvc-login")


def test_no_stores_the_answer_and_shows_the_checklist(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionYesNo(), make_tracker("chưa", "deny", slots=pending("vneid-level2", "dvc-login")))
    assert events == [SlotSet("has_vneid_level2", False), *NOT_PENDING]
    assert message["custom"] == {"kind": "readiness", "guide_id": "dvc-login", "missing": ["vneid-level2"]}
    assert message["buttons"][0] == start_button(
        "vneid-register-level2", f"Hướng dẫn: {GUIDES['vneid-register-level2'].short_title}"[:40]
    )


@pytest.mark.parametrize(
    ("text", "yes"),
    [("có rồi, con tôi làm cho rồi", True), ("dạ có, cháu nó cài giúp", True), ("chưa, ở nhà không ai biết làm", False),
     ("khong co dau", False)],
)
def test_a_readiness_answer_with_extra_words_taken_for_a_handoff_keeps_the_walkthrough(
    make_tracker: MakeTracker, text: str, yes: bool
) -> None:
    from actions.handoff import ActionHandoff

    tracker = make_tracker(text, "request_human", slots=pending("vneid-level2", "dvc-login"))
    (message,), events = run(ActionHandoff(), tracker)
    assert SlotSet("has_vneid_level2", yes) in events
    assert SlotSet("handoff_requested", True) not in events
    assert message["custom"]["kind"] != "handoff"


@pytest.mark.parametrize("text", ["cho tôi gặp người thật", "có, cho tôi nói chuyện với tình nguyện viên", "/request_human"])
def test_a_real_request_for_a_person_during_readiness_is_handed_over(make_tracker: MakeTracker, text: str) -> None:
    from actions.handoff import ActionHandoff

    (message,), events = run(ActionHandoff(), make_tracker(text, "request_human",
                                                           slots=pending("vneid-level2", "dvc-login")))
    assert message["custom"]["kind"] == "handoff"
    assert events == [SlotSet("handoff_requested", True)]


@pytest.mark.parametrize("guide_id", ["vneid-activate", "vneid-register-level2", "dvc-login", "scam-safety"])
def test_a_walkthrough_that_files_nothing_does_not_talk_about_a_dossier(guide_id: str) -> None:
    guide = GUIDES[guide_id]
    message = finish_message(guide, flow.forward(state(guide_id, len(guide.steps)), T0), T0)
    assert "mã hồ sơ" not in message["text"] and "Theo dõi hồ sơ" not in [b["title"] for b in message["buttons"]]


def test_a_walkthrough_that_files_a_dossier_says_how_to_track_it() -> None:
    guide = GUIDES["judicial-record"]
    message = finish_message(guide, flow.forward(state("judicial-record", len(guide.steps)), T0), T0)
    assert "mã hồ sơ" in message["text"] and message["buttons"][0]["title"] == "Theo dõi hồ sơ"


def test_a_question_taken_for_navigation_outside_a_walkthrough_is_answered(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("tiếp theo làm căn cước cho con thì mang giấy gì", "nav_next",
                           [{"name": "nav_next", "confidence": 0.5}, {"name": "ask_can_cuoc", "confidence": 0.45}])
    messages, _ = run(ActionWalkthroughNav(), tracker)
    assert messages[0]["custom"]["kind"] in ("answer", "clarify")
    assert "chưa bắt đầu hướng dẫn" not in messages[0]["text"]


@pytest.mark.parametrize("answer", ["affirm", "deny"])
def test_an_answer_moves_on_to_the_next_question(make_tracker: MakeTracker, answer: str) -> None:
    tracker = make_tracker("ừ", answer, slots=pending("vneid-level2", "judicial-record"))
    (message,), events = run(ActionYesNo(), tracker)
    assert events == [
        SlotSet("has_vneid_level2", answer == "affirm"),
        SlotSet("wt_pending", "payment-account"),
        SlotSet("wt_pending_guide", "judicial-record"),
    ]
    assert message["custom"] == {"kind": "readiness", "guide_id": "judicial-record", "need": "payment-account"}
    assert message["buttons"] == YES_NO


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (("affirm", "affirm"), "started"),
        (("affirm", "deny"), "checklist"),
        (("deny", "affirm"), "checklist"),
        (("deny", "deny"), "checklist"),
    ],
)
def test_readiness_conversation(make_tracker: MakeTracker, answers: tuple[str, str], expected: str) -> None:
    (first,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, topic="judicial-record"))
    slots = apply({}, events)
    asked = [first["custom"]["need"]]
    for answer in answers:
        (message,), events = run(ActionYesNo(), make_tracker("…", answer, slots=slots))
        slots = apply(slots, events)
        asked.append(message["custom"].get("need") or message["custom"].get("event") or "checklist")
    assert asked == ["vneid-level2", "payment-account", expected]
    assert (slots["has_vneid_level2"], slots["has_payment_account"]) == tuple(a == "affirm" for a in answers)
    assert slots["wt_pending"] is None and slots["wt_pending_guide"] is None
    assert slots.get("wt_guide") == ("judicial-record" if expected == "started" else None)


def test_answers_are_not_asked_again(make_tracker: MakeTracker) -> None:
    # a "no" is remembered: the next start of any guide needing it goes straight to the checklist
    (_,), events = run(ActionYesNo(), make_tracker("chưa", "deny", slots=pending("vneid-level2", "dvc-login")))
    slots = apply(pending("vneid-level2", "dvc-login"), events)
    (message,), _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="dvc-submit"))
    assert message["custom"] == {"kind": "readiness", "guide_id": "dvc-submit", "missing": ["vneid-level2"]}
    # a "yes" too: straight to step 1 (after leaving the dvc-login walkthrough the "yes" started)
    (_,), events = run(ActionYesNo(), make_tracker("có", "affirm", slots=pending("vneid-level2", "dvc-login")))
    slots = apply({}, events)
    messages, _ = run(ActionStartWalkthrough(), start_tracker(make_tracker, slots, topic="dvc-submit"))
    assert [(m["custom"]["event"], m["custom"]["guide_id"]) for m in messages] == [
        ("abandoned", "dvc-login"),
        ("started", "dvc-submit"),
    ]


@pytest.mark.parametrize(
    "slots",
    [
        {},
        {"wt_pending": None, "wt_pending_guide": "dvc-login"},
        {"wt_pending": "vneid-level2", "wt_pending_guide": None},
        {"wt_pending": "vneid-level2", "wt_pending_guide": "no-such-guide"},
        {"wt_pending": "vneid-level3", "wt_pending_guide": "dvc-login"},
        walking("dvc-submit", 2),  # a walkthrough under way is not a pending question
    ],
    ids=["nothing", "no-need", "no-guide", "unknown-guide", "unknown-need", "walking"],
)
@pytest.mark.parametrize("answer", ["affirm", "deny"])
def test_yes_or_no_with_nothing_pending_is_acknowledged(
    make_tracker: MakeTracker, slots: dict[str, Any], answer: str
) -> None:
    (message,), events = run(ActionYesNo(), make_tracker("vâng", answer, slots=slots))
    assert events == []
    assert message["response"] == "utter_ack"
    assert "utter_ack" in DOMAIN["responses"]


@pytest.mark.parametrize("need", sorted(walkthrough.READINESS_SLOTS))
def test_every_readiness_answer_has_a_bool_slot(need: str) -> None:
    slot = walkthrough.READINESS_SLOTS[need]
    assert DOMAIN["slots"][slot]["type"] == "bool"
    assert need in flow.PRECONDITION_QUESTIONS


def test_walkthrough_slots_are_in_the_domain() -> None:
    assert set(walkthrough.WT_SLOTS) | {"wt_pending", "wt_pending_guide"} <= set(DOMAIN["slots"])
    assert {"affirm", "deny", "start_walkthrough"} <= set(DOMAIN["intents"])


# --- ActionWalkthroughNav ------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 2, 6])
@pytest.mark.parametrize("intent", ["nav_next", "nav_done"])
def test_next_shows_the_following_step(make_tracker: MakeTracker, step: int, intent: str) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, intent, walking("dvc-submit", step)))
    assert message["text"] == step_text("dvc-submit", step + 1) + _local("dvc-submit", step + 1)
    assert message["text"].startswith(f"Bước {step + 1}/7 — ")
    assert message["buttons"] == NAV
    assert message["custom"] == custom("dvc-submit", "step", step + 1)
    assert events == state_slots("dvc-submit", step + 1)


@pytest.mark.parametrize("intent", ["nav_next", "nav_done"])
def test_next_at_the_last_step_finishes(make_tracker: MakeTracker, intent: str) -> None:
    (message, question), events = run(
        ActionWalkthroughNav(), nav(make_tracker, intent, walking("dvc-submit", 7, stuck=[3]))
    )
    guide = GUIDES["dvc-submit"]
    assert message["text"].startswith(f"🎉 Anh/chị đã làm xong: {guide.short_title}.\n\nTiếp theo: ")
    assert message["text"].endswith(walkthrough.SCAM_REMINDER)
    assert "Tra cứu hồ sơ" in message["text"]
    # the journey goes on: submitting is followed by paying the fee
    assert message["buttons"] == [
        {"title": "Tiếp: Thanh toán phí, lệ phí trực…", "payload": '/start_walkthrough{"topic": "payment-online"}'},
        {"title": "Theo dõi hồ sơ", "payload": '/choose_topic{"topic": "dvc-track"}'},
        MENU,
    ]
    assert message["custom"] == custom("dvc-submit", "finished", 7, stuck=[3], duration_s=3600.0, ask_feedback=True)
    # then the one satisfaction question, about this walkthrough
    assert question["text"] == "Anh/chị có hài lòng với hướng dẫn này không?"
    *before, pending = events
    assert pending["name"] == "rating_pending" and pending["value"]["about"] == "walkthrough"
    q = pending["value"]["q"]
    assert [b["payload"] for b in question["buttons"]] == [
        f'/rate{{"rating": "{r}", "rating_q": "{q}"}}' for r in ("hai_long", "binh_thuong", "chua_hai_long")]
    context = {"guide_id": "dvc-submit", "duration_s": 3600.0, "stuck_steps": [3], "total": 7}
    assert question["custom"] == {"kind": "rating_question", **context}
    assert pending["value"]["context"] == context
    assert before == [*CLEARED, SlotSet("last_walkthrough", {**context, "finished": True})]


def test_duration_is_measured_from_the_start(make_tracker: MakeTracker, clock: Clock) -> None:
    clock.now = STARTED_AT + 754.26
    (message, _question), _ = run(
        ActionWalkthroughNav(), nav(make_tracker, "nav_next", walking("vneid-troubleshoot", 4))
    )
    assert message["custom"]["duration_s"] == 754.3


@pytest.mark.parametrize("step", [2, 3, 7])
def test_back_shows_the_previous_step(make_tracker: MakeTracker, step: int) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_back", walking("dvc-submit", step)))
    assert message["text"] == step_text("dvc-submit", step - 1) + _local("dvc-submit", step - 1)
    assert message["buttons"] == NAV
    assert message["custom"] == custom("dvc-submit", "step", step - 1)
    assert events == state_slots("dvc-submit", step - 1)


def test_back_at_step_one_says_so_and_stays(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_back", walking("dvc-submit", 1)))
    assert message["text"] == "Đây là bước đầu tiên rồi.\n\n" + step_text("dvc-submit", 1)
    assert message["custom"] == custom("dvc-submit", "step", 1)
    assert events == state_slots("dvc-submit", 1)


@pytest.mark.parametrize("step", [1, 4, 7])
def test_repeat_shows_the_same_step(make_tracker: MakeTracker, step: int) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking("dvc-submit", step, [1])))
    assert message["text"] == step_text("dvc-submit", step) + _local("dvc-submit", step)
    assert not message["text"].startswith(INTRO)
    assert message["buttons"] == NAV
    assert message["custom"] == custom("dvc-submit", "step", step, stuck=[1])
    assert events == state_slots("dvc-submit", step, stuck=[1])


def test_stuck_offers_the_mapped_help_and_a_person(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_stuck", walking("dvc-submit", 5, [2])))
    guide = GUIDES["dvc-submit"]
    helps = flow.troubleshooting(guide, 5, GUIDES)[:2]
    assert [f"{g.id}#{s.heading}" for g, s in helps] == [
        "dvc-submit#Ảnh chụp mờ hoặc sai loại tệp",
        "dvc-submit#Không thấy nút lấy giấy tờ từ kho dữ liệu",
    ]
    text = message["text"]
    assert text.startswith("Anh/chị bị kẹt ở Bước 5/7. Thử cách này nhé:\n\n👉 Ảnh chụp mờ hoặc sai loại tệp\n")
    assert "\n\n👉 Không thấy nút lấy giấy tờ từ kho dữ liệu\n" in text
    assert "Có phải công chứng không?" not in text  # the third reference is left for later
    assert message["buttons"] == [
        {"title": "Làm lại bước này", "payload": "/nav_repeat"},
        {"title": "Được rồi, tiếp", "payload": "/nav_next"},
        {"title": "Vẫn không được — gặp tình nguyện viên", "payload": "/request_human"},
    ]
    assert "request_human" in DOMAIN["intents"]
    assert message["custom"] == custom(
        "dvc-submit", "stuck", 5, stuck=[2, 5], help=[f"{g.id}#{s.heading}" for g, s in helps]
    )
    assert events == state_slots("dvc-submit", 5, stuck=[2, 5])


def test_stuck_follows_references_into_other_guides(make_tracker: MakeTracker) -> None:
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_stuck", walking("dvc-submit", 7)))
    assert message["custom"]["help"] == ["dvc-track#Mất mã hồ sơ", "payment-online#Không thấy yêu cầu thanh toán"]
    assert "👉 Mất mã hồ sơ\n" in message["text"]


def test_stuck_without_a_map_entry_offers_the_guides_own_problems(make_tracker: MakeTracker) -> None:
    guide = GUIDES["can-cuoc"]
    assert 4 not in guide.stuck
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_stuck", walking("can-cuoc", 4)))
    assert message["custom"]["help"] == [f"can-cuoc#{p.heading}" for p in guide.problems[:2]]


def test_stuck_twice_at_one_step_is_remembered_once(make_tracker: MakeTracker) -> None:
    slots = walking("dvc-submit", 3)
    for _ in range(2):
        (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_stuck", slots))
        slots = apply(slots, events)
    assert slots["wt_stuck"] == [3]
    assert message["custom"]["stuck_steps"] == [3]
    assert slots["wt_step"] == 3


def test_stuck_then_next_moves_on_and_keeps_the_stuck_steps(make_tracker: MakeTracker) -> None:
    slots = walking("dvc-submit", 3)
    for intent in ("nav_stuck", "nav_next", "nav_stuck", "nav_next"):
        (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, intent, slots))
        slots = apply(slots, events)
    assert (slots["wt_step"], slots["wt_stuck"]) == (5, [3, 4])
    assert message["custom"] == custom("dvc-submit", "step", 5, stuck=[3, 4])


def test_restart_goes_back_to_step_one_as_a_new_attempt(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, "nav_restart", walking("dvc-submit", 5, [2, 4])))
    assert_step_one(message, "dvc-submit", T0)
    assert events == state_slots("dvc-submit", 1, T0)


@pytest.mark.parametrize("intent", ["nav_next", "nav_done", "nav_repeat"])
def test_continue_after_a_resume_offer_shows_the_same_step(make_tracker: MakeTracker, intent: str) -> None:
    # "tiếp tục" after a side question or a new session means "show me where I was", not "skip a step"
    slots = walking("dvc-submit", 4, wt_resume=True)
    (message,), events = run(ActionWalkthroughNav(), nav(make_tracker, intent, slots))
    assert message["text"] == step_text("dvc-submit", 4)
    assert message["custom"] == custom("dvc-submit", "step", 4)
    assert events == state_slots("dvc-submit", 4)  # wt_resume back to False: the next "tiếp" moves on
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_next", apply(slots, events)))
    assert message["custom"]["step"] == 5


@pytest.mark.parametrize("intent", ["nav_back", "nav_stuck", "nav_restart"])
def test_resume_flag_does_not_change_other_moves(make_tracker: MakeTracker, intent: str) -> None:
    (message,), events = run(
        ActionWalkthroughNav(), nav(make_tracker, intent, walking("dvc-submit", 4, wt_resume=True))
    )
    assert message["custom"]["step"] == {"nav_back": 3, "nav_stuck": 4, "nav_restart": 1}[intent]
    assert SlotSet("wt_resume", False) in events


def test_a_whole_walkthrough_by_buttons(make_tracker: MakeTracker, clock: Clock) -> None:
    (message,), events = run(ActionStartWalkthrough(), start_tracker(make_tracker, topic="vneid-troubleshoot"))
    slots = apply({}, events)
    seen = [(message["custom"]["event"], message["custom"]["step"])]
    for intent in ("nav_next", "nav_back", "nav_next", "nav_stuck", "nav_next", "nav_next", "nav_done"):
        clock.now += 30
        messages, events = run(ActionWalkthroughNav(), nav(make_tracker, intent, slots))
        message = messages[0]  # after the last step a rating question follows the finish message
        slots = apply(slots, events)
        seen.append((message["custom"]["event"], message["custom"]["step"]))
    assert seen == [
        ("started", 1),
        ("step", 2),
        ("step", 1),
        ("step", 2),
        ("stuck", 2),
        ("step", 3),
        ("step", 4),
        ("finished", 4),
    ]
    assert message["custom"]["duration_s"] == 210.0
    assert message["custom"]["stuck_steps"] == [2]
    assert all(slots[name] is None for name in WT_SLOTS)


@pytest.mark.parametrize("intent", ["nav_next", "nav_back", "nav_repeat", "nav_stuck", "nav_done", "nav_restart"])
@pytest.mark.parametrize(
    ("slots", "events"),
    [
        ({}, []),
        ({"wt_guide": "dvc-submit"}, []),  # incomplete state counts as none
        ({**walking("dvc-submit", 2), "wt_guide": "no-such-guide"}, CLEARED),  # guide removed since
        ({**walking("dvc-submit", 2), "wt_total": 9.0}, CLEARED),  # guide's steps changed since
    ],
    ids=["none", "incomplete", "unknown-guide", "steps-changed"],
)
def test_navigation_without_a_walkthrough_shows_the_menu(
    make_tracker: MakeTracker, intent: str, slots: dict[str, Any], events: list[Any]
) -> None:
    (message,), returned = run(ActionWalkthroughNav(), nav(make_tracker, intent, slots))
    assert returned == events
    assert message["text"].startswith(NO_WALKTHROUGH)
    assert message["custom"]["kind"] == "menu"
    assert message["buttons"][-1] == HUMAN


# --- the menu during a walkthrough ---------------------------------------------------------------------------


def test_menu_during_a_walkthrough_offers_to_continue(make_tracker: MakeTracker) -> None:
    (message,), events = run(ActionMenu(), make_tracker("menu", "nav_menu", slots=walking("dvc-submit", 3)))
    assert events == []
    assert message["buttons"][0] == {"title": "Tiếp tục Bước 3/7", "payload": "/nav_repeat"}
    assert message["buttons"][-1] == HUMAN
    assert message["custom"]["kind"] == "menu"


def test_menu_without_a_walkthrough_has_no_continue_button(make_tracker: MakeTracker) -> None:
    (message,), _ = run(ActionMenu(), make_tracker("menu", "nav_menu"))
    assert not any(b["payload"] == "/nav_repeat" for b in message["buttons"])


# --- ActionSessionStart --------------------------------------------------------------------------------------


def test_session_start_offers_to_resume_an_unfinished_walkthrough(make_tracker: MakeTracker) -> None:
    slots = {
        **walking("dvc-submit", 3, [2]),
        "topic": "dvc-submit",
        "has_vneid_level2": True,
        "handoff_requested": False,
        "session_started_metadata": {"platform": "zalo"},
        "wt_pending": None,
    }
    (message,), events = run(ActionSessionStart(), make_tracker(slots=slots))
    title = GUIDES["dvc-submit"].short_title
    assert message["text"] == (
        f'Chào anh/chị quay lại! Lần trước anh/chị đang làm "{title}", tới Bước 3/7. Anh/chị muốn làm tiếp không?'
    )
    assert message["buttons"] == [
        {"title": "Tiếp tục Bước 3", "payload": "/nav_repeat"},
        {"title": "Làm lại từ đầu", "payload": "/nav_restart"},
        MENU,
    ]
    assert message["custom"] == {
        "kind": "walkthrough",
        "event": "resume_offered",
        "guide_id": "dvc-submit",
        "step": 3,
        "total": 7,
    }
    carried = [SlotSet(k, v) for k, v in slots.items() if v is not None and k != "session_started_metadata"]
    assert events == [SessionStarted(), *carried, SlotSet("wt_resume", True), ActionExecuted("action_listen")]
    assert SlotSet("handoff_requested", False) in events  # False is a value, carried like any other


@pytest.mark.parametrize(
    "slots",
    [
        {},
        {"topic": "dvc-login", "has_vneid_level2": False, "session_started_metadata": {"x": 1}},
        {"wt_guide": None, "wt_step": None, "topic": "can-cuoc"},  # a finished walkthrough clears its slots
        {**walking("dvc-submit", 3), "wt_guide": "no-such-guide"},  # a guide removed since
    ],
    ids=["nothing", "no-walkthrough", "finished", "unknown-guide"],
)
def test_session_start_without_an_unfinished_walkthrough_says_nothing(
    make_tracker: MakeTracker, slots: dict[str, Any]
) -> None:
    messages, events = run(ActionSessionStart(), make_tracker(slots=slots))
    assert messages == []
    carried = [SlotSet(k, v) for k, v in slots.items() if v is not None and k != "session_started_metadata"]
    assert events == [SessionStarted(), *carried, ActionExecuted("action_listen")]


def test_resume_after_a_new_session_shows_the_step_left_off(make_tracker: MakeTracker) -> None:
    slots = walking("judicial-record", 6)
    _, events = run(ActionSessionStart(), make_tracker(slots=slots))
    slots = apply(slots, events)
    assert slots["wt_resume"] is True
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_next", slots))
    assert message["custom"] == custom("judicial-record", "step", 6)


def test_domain_keeps_slots_across_sessions() -> None:
    assert DOMAIN["session_config"]["carry_over_slots_to_new_session"] is True


# --- ActionAnswer during a walkthrough -----------------------------------------------------------------------


def test_answer_during_a_walkthrough_offers_to_continue(make_tracker: MakeTracker) -> None:
    tracker = make_tracker(
        "chờ mãi không thấy mã OTP của vneid",
        "ask_vneid_troubleshoot",
        [{"name": "ask_vneid_troubleshoot", "confidence": 0.7}],
        slots=walking("dvc-submit", 3),
    )
    (message,), events = run(ActionAnswer(), tracker)
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["resume_step"] == 3
    assert message["buttons"][0] == {"title": "Tiếp tục Bước 3/7", "payload": "/nav_repeat"}
    assert message["buttons"][1]["title"] == "Hướng dẫn từng bước"
    assert events == [SlotSet("topic", "vneid-troubleshoot"), SlotSet("wt_resume", True)]
    # and "tiếp tục" then shows step 3 again rather than skipping to step 4
    (step,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_next", apply(walking("dvc-submit", 3), events)))
    assert step["custom"]["step"] == 3


def test_clarify_during_a_walkthrough_offers_to_continue(make_tracker: MakeTracker) -> None:
    ranking = [{"name": "ask_dvc_login", "confidence": 0.5}, {"name": "ask_vneid_activate", "confidence": 0.45}]
    tracker = make_tracker("đăng nhập", "ask_dvc_login", ranking, slots=walking("judicial-record", 2))
    (message,), events = run(ActionAnswer(), tracker)
    assert message["custom"]["kind"] == "clarify"
    assert message["custom"]["resume_step"] == 2
    assert message["buttons"][0] == {"title": "Tiếp tục Bước 2/8", "payload": "/nav_repeat"}
    assert events == [SlotSet("wt_resume", True)]


def test_answer_without_a_walkthrough_has_no_continue_button(make_tracker: MakeTracker) -> None:
    tracker = make_tracker(
        "chờ mãi không thấy mã OTP của vneid", "ask_vneid_troubleshoot", [{"name": "ask_vneid_troubleshoot", "confidence": 0.7}]
    )
    (message,), events = run(ActionAnswer(), tracker)
    assert "resume_step" not in message["custom"]
    assert not any(b["payload"] == "/nav_repeat" for b in message["buttons"])
    assert events == [SlotSet("topic", "vneid-troubleshoot")]


# --- every message of every guide fits a Zalo message ---------------------------------------------------------

EVERY_STEP = [(g, s) for g in sorted(GUIDES) for s in range(1, len(GUIDES[g].steps) + 1)]


def state(guide_id: str, step: int, stuck: tuple[int, ...] = ()) -> flow.WalkState:
    return flow.WalkState(guide_id, step, len(GUIDES[guide_id].steps), STARTED_AT, stuck)


@pytest.mark.parametrize(("guide_id", "step"), EVERY_STEP, ids=[f"{g}-{s}" for g, s in EVERY_STEP])
def test_every_step_and_its_help_fit_a_zalo_message(bm25_index: HybridIndex, guide_id: str, step: int) -> None:
    guide = GUIDES[guide_id]
    for event in ("started", "step"):
        message = step_message(guide, state(guide_id, step), event, T0)
        assert len(message["text"]) < ZALO_LIMIT
        assert guide.steps[step - 1] in message["text"]  # never cut: a step is at most 400 characters
        assert f"Bước {step}/{len(guide.steps)} — {guide.short_title}\n\n" in message["text"]
    stuck = stuck_message(guide, state(guide_id, step, (step,)), bm25_index.guides, T0)
    assert len(stuck["text"]) < ZALO_LIMIT
    assert stuck["custom"]["help"], "a resident stuck here is offered nothing to try"


@pytest.mark.parametrize("guide_id", sorted(GUIDES))
def test_every_finish_message_fits_a_zalo_message(guide_id: str) -> None:
    guide = GUIDES[guide_id]
    last = len(guide.steps)
    message = finish_message(guide, flow.forward(state(guide_id, last), T0), T0)
    assert len(message["text"]) < ZALO_LIMIT
    assert message["text"].endswith(walkthrough.SCAM_REMINDER)  # the reminder survives any cut
    assert message["custom"]["event"] == "finished"


# --- local details from the commune file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guide_id", "step"),
    [("vneid-register-level2", 1), ("vneid-troubleshoot", 4), ("scam-safety", 4), ("can-cuoc", 1)],
)
def test_a_step_sending_residents_to_the_commune_police_shows_its_details(
    make_tracker: MakeTracker, commune: Commune, guide_id: str, step: int
) -> None:
    assert "công an xã" in GUIDES[guide_id].steps[step - 1].lower()
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking(guide_id, step)))
    police = (
        "📍 Công an xã Ví Dụ: Số 3 đường Trung Tâm, xã Ví Dụ. Giờ làm việc: Thứ 2 – Thứ 6: 7h30–17h00. "
        "Điện thoại: 0200 000 0001."
    )
    assert police == commune.police.line()
    assert message["text"] == step_text(guide_id, step) + "\n\n" + police


def test_a_step_sending_residents_to_the_commune_shows_the_centre(make_tracker: MakeTracker, commune: Commune) -> None:
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking("birth-registration", 4)))
    assert message["text"] == step_text("birth-registration", 4) + "\n\n" + commune.centre.line()
    assert commune.police.name not in message["text"]


def test_a_step_naming_both_offices_shows_both(make_tracker: MakeTracker, commune: Commune) -> None:
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking("support-contacts", 4)))
    assert message["text"].endswith(f"\n\n{commune.police.line()}\n{commune.centre.line()}")


def test_a_step_on_the_phone_shows_no_office(make_tracker: MakeTracker) -> None:
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking("dvc-submit", 1)))
    assert "📍" not in message["text"]


def test_local_details_come_from_the_configured_commune(
    make_tracker: MakeTracker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = yaml.safe_load((ROOT / "communes" / "vi-du.yml").read_text(encoding="utf-8"))
    data["police"]["name"] = "Công an xã Thử Nghiệm"
    path = tmp_path / "xa-thu.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(walkthrough, "get_commune", lambda: load_commune(path))
    (message,), _ = run(ActionWalkthroughNav(), nav(make_tracker, "nav_repeat", walking("vneid-register-level2", 1)))
    assert "📍 Công an xã Thử Nghiệm:" in message["text"]
    assert "Công an xã Ví Dụ" not in message["text"]
