"""Replies to messages the assistant cannot read: empty, only symbols or emoji, too long, or not text."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.knowledge import follows_up
from actions.tracking import resident_text
from common.messages import say
from common.text import asks_for_a_person, gives_a_verdict, input_problem, proposes, sensitive_request

REPLIES = {
    problem: say(f"bad_input.{problem}") for problem in ("empty", "no_text", "too_long", "non_text", "code")
}


class ActionBadInput(Action):
    """A short, clear reply saying what the assistant can read."""

    def name(self) -> str:
        return "action_bad_input"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        latest = tracker.latest_message or {}
        metadata = latest.get("metadata") or {}
        problem = metadata.get("input_problem") or input_problem(resident_text(tracker)) or "no_text"
        dispatcher.utter_message(text=REPLIES.get(problem, REPLIES["no_text"]),
                                 json_message={"kind": "bad_input", "problem": problem})
        return []


class ActionOutOfScope(Action):
    """Say what the assistant covers (utter_out_of_scope) and log the question for the knowledge-gaps page."""

    def name(self) -> str:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = resident_text(tracker)
        if sensitive_request(text) or asks_for_a_person(text) or proposes(text) or gives_a_verdict(text) \
                or follows_up(tracker, text):
            # "Tôi cần một con người, ngay bây giờ", "bot đứng về phe nào", "Đề nghị…", "tệ quá" are not off topic, nor
            # is "mất bao lâu" right after an answer: the answering action routes them (refusal, a person, feedback,
            # the part of the guide just shown) as it routes any other message
            return [FollowupAction("action_answer")]
        dispatcher.utter_message(response="utter_out_of_scope")
        services.log_reply(tracker, "out_of_scope")
        return []
