"""Feedback from residents (the satisfaction survey and dashboard build on this)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

FEEDBACK_TEXT = (
    "Cảm ơn bạn đã góp ý. Ý kiến của bạn được ghi lại để cán bộ xã xem xét và trả lời công khai. "
    "Bạn muốn nói thêm điều gì, cứ nhắn tiếp nhé."
)


class ActionFeedback(Action):
    """Acknowledge feedback and mark the reply so the feedback log can pick it up."""

    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(
            text=FEEDBACK_TEXT,
            json_message={"kind": "feedback", "topic": tracker.get_slot("topic")},
        )
        return []
