"""Feedback from residents: recorded durably in the feedback log (actions/feedback_store.py) and acknowledged."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback_store import RATINGS, FeedbackRecord, get_feedback_store, pseudonym, pseudonym_key
from actions.knowledge import resident_text
from actions.settings import get_settings

logger = logging.getLogger(__name__)

FEEDBACK_TEXT = (
    "Cảm ơn bạn đã góp ý. Ý kiến của bạn đã được ghi lại để cán bộ xã xem xét và trả lời công khai. "
    "Bạn muốn nói thêm điều gì, cứ nhắn tiếp nhé."
)
FEEDBACK_FAILED_TEXT = (
    "Cảm ơn bạn. Hệ thống ghi góp ý đang bận nên chưa lưu được; bạn vui lòng gửi lại sau ít phút, "
    "hoặc bấm \"Gặp người hỗ trợ\" để nói với cán bộ."
)


RATING_QUESTION = "Bạn có hài lòng với hướng dẫn này không?"
RATING_BUTTONS = [
    {"title": "Hài lòng", "payload": '/rate{"rating": "hai_long"}'},
    {"title": "Bình thường", "payload": '/rate{"rating": "binh_thuong"}'},
    {"title": "Chưa hài lòng", "payload": '/rate{"rating": "chua_hai_long"}'},
]
RATING_THANKS = {
    "hai_long": "Cảm ơn bạn! Bạn muốn góp ý thêm điều gì, cứ nhắn cho mình nhé.",
    "binh_thuong": "Cảm ơn bạn. Mình cần làm gì để tốt hơn? Bạn nhắn góp ý giúp mình nhé.",
    "chua_hai_long": "Xin lỗi vì chưa giúp được tốt. Bạn nhắn cho mình điều chưa ổn, hoặc bấm \"Gặp người hỗ trợ\".",
}


def rating_question(context: dict[str, Any]) -> dict[str, Any]:
    """The one satisfaction question (with buttons), asked after a finished walkthrough."""
    return {"text": RATING_QUESTION, "buttons": RATING_BUTTONS, "custom": {"kind": "rating_question", **context}}


ANSWER_RATING_QUESTION = "Câu trả lời vừa rồi có giúp được bạn không?"
THANK_TEXT = "Không có gì ạ. Bạn cần hỏi thêm gì cứ nhắn mình nhé."
RATED_KINDS = {"answer", "walkthrough", "handoff_closed"}  # bot replies a rating can be about
RECENT_BOT_MESSAGES = 12


def last_rateable(tracker: Tracker) -> dict[str, Any] | None:
    """The latest answer the resident could rate, unless a rating question came after it (never ask twice)."""
    seen = 0
    for event in reversed(tracker.events or []):
        if event.get("event") != "bot":
            continue
        seen += 1
        custom = ((event.get("data") or {}).get("custom") or {})
        if custom.get("kind") in ("rating_question", "feedback") or seen > RECENT_BOT_MESSAGES:
            return None
        if custom.get("kind") == "answer":
            return custom
    return None


def rating_just_given(tracker: Tracker) -> str:
    """The feedback entry id of a rating, when the bot's last message (before this one) thanked for it."""
    past_latest_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            if past_latest_user:
                return ""
            past_latest_user = True
        elif event.get("event") == "bot" and past_latest_user:
            custom = (event.get("data") or {}).get("custom") or {}
            return str(custom.get("id") or "") if custom.get("rating") else ""
    return ""


def record_from(tracker: Tracker, kind: str, rating: str = "") -> FeedbackRecord:
    """What the feedback log keeps about this conversation (never the raw user id)."""
    walkthrough: dict[str, Any] = {}
    last = tracker.get_slot("last_walkthrough")
    if kind == "rating" and isinstance(last, dict):
        walkthrough = dict(last)
    elif tracker.get_slot("wt_guide"):
        walkthrough = {"guide_id": tracker.get_slot("wt_guide"), "step": tracker.get_slot("wt_step"),
                       "total": tracker.get_slot("wt_total")}
    return FeedbackRecord(
        resident=pseudonym(tracker.sender_id, pseudonym_key()),
        channel=tracker.get_latest_input_channel() or "rest",
        commune=get_settings().commune_id,
        kind=kind,
        rating=rating,
        topic=tracker.get_slot("topic") or "",
        walkthrough=walkthrough,
        volunteer=bool(tracker.get_slot("handoff_requested")),
        at=time.time(),
    )


class ActionFeedback(Action):
    """Store the resident's feedback (masked) and acknowledge it; say so honestly when it could not be stored."""

    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        comment = resident_text(tracker)
        # a comment written right after a rating belongs to that rating
        rating_id = rating_just_given(tracker)
        try:
            record = record_from(tracker, "comment")
            if rating_id:
                record = replace(record, rating_id=rating_id)
            entry_id = get_feedback_store().add(record, comment)
        except Exception:  # noqa: BLE001 - the resident is told; nothing is acknowledged that was not stored
            logger.exception("Could not store feedback for a resident")
            dispatcher.utter_message(text=FEEDBACK_FAILED_TEXT, json_message={"kind": "feedback", "stored": False})
            return []
        dispatcher.utter_message(
            text=FEEDBACK_TEXT,
            json_message={"kind": "feedback", "topic": tracker.get_slot("topic"), "stored": True, "id": entry_id},
        )
        return []


class ActionRate(Action):
    """Store a tapped satisfaction rating with what it rates, then invite a comment."""

    def name(self) -> str:
        return "action_rate"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        entities = {e.get("entity"): e.get("value") for e in (tracker.latest_message or {}).get("entities", [])}
        rating = str(entities.get("rating") or "")
        if rating not in RATINGS:
            dispatcher.utter_message(text=RATING_QUESTION, buttons=RATING_BUTTONS,
                                     json_message={"kind": "rating_question"})
            return []
        try:
            entry_id = get_feedback_store().add(record_from(tracker, "rating", rating))
        except Exception:  # noqa: BLE001 - the resident is told; nothing is acknowledged that was not stored
            logger.exception("Could not store a rating")
            dispatcher.utter_message(text=FEEDBACK_FAILED_TEXT, json_message={"kind": "feedback", "stored": False})
            return []
        dispatcher.utter_message(text=RATING_THANKS[rating],
                                 json_message={"kind": "feedback", "rating": rating, "stored": True, "id": entry_id})
        # what was rated is settled: a later rating is about something new
        return [SlotSet("last_walkthrough", None), SlotSet("handoff_requested", False)]


class ActionThank(Action):
    """Answer thanks; when they follow an answer that was not rated yet, ask the one rating question."""

    def name(self) -> str:
        return "action_thank"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        answer = last_rateable(tracker)
        if answer is None:
            dispatcher.utter_message(text=THANK_TEXT, json_message={"kind": "smalltalk"})
            return []
        dispatcher.utter_message(text=ANSWER_RATING_QUESTION, buttons=RATING_BUTTONS,
                                 json_message={"kind": "rating_question", "about": "answer",
                                               "guide_id": answer.get("guide_id", "")})
        return []
