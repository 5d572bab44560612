"""Handing a conversation to a person: the request event the channel gateways act on."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies, services
from actions.feedback import ask_rating
from actions.knowledge import about_the_assistant, tell_about_the_assistant
from actions.replies import HUMAN_BUTTON
from actions.tracking import resident_text, send
from actions.walkthrough import ActionYesNo, readiness_answer
from common.messages import say
from common.text import normalise, sensitive_request

# Words that really ask for a person, as opposed to a readiness answer the classifier misread.
_WANTS_PERSON = re.compile(r"\b(nguoi that|tinh nguyen vien|can bo|nhan vien|gap nguoi|nguoi ho tro|tong dai vien|"
                           r"noi chuyen voi|nguoi giup|chuyen cho nguoi)\b")

HANDOFF_TEXT = say("handoff.start")
HANDOFF_CLOSED_TEXT = say("handoff.closed")
HANDOFF_RATING_QUESTION = say("handoff.rating_question")


class ActionHandoff(Action):
    """Tell the resident a person will take over, and flag the conversation for the gateways."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = resident_text(tracker)
        if (tracker.get_slot("wt_pending") and not text.startswith("/") and not _WANTS_PERSON.search(normalise(text))
                and readiness_answer(tracker) is not None):
            # "có rồi, con tôi làm cho rồi" answers the readiness question; it is not a request for a person
            return answer_readiness(dispatcher, tracker, domain)
        reason = sensitive_request(text)
        if reason:
            # "cho tôi số Zalo riêng của ông trưởng công an xã" names a person but asks for their private details;
            # "em chỉ giùm nên đưa cho ai cho chắc ăn" asks whom to bribe: neither is a question for a volunteer
            send(dispatcher, replies.sensitive_message(reason))
            services.log_reply(tracker, "sensitive")
            return []
        about = about_the_assistant(text)
        if about:  # "bên này là người hay máy vậy", "thông tin có bị lưu lại không": not for a person
            return tell_about_the_assistant(dispatcher, tracker, about)
        topic = tracker.get_slot("topic")
        custom = {"kind": "handoff", "topic": topic, "reason": "resident_request"}
        guide, step = tracker.get_slot("wt_guide"), tracker.get_slot("wt_step")
        if guide and step:
            # the volunteer sees where in which walkthrough the resident got stuck
            custom.update({"topic": guide, "reason": "stuck_in_walkthrough" if tracker.get_slot("wt_stuck") else
                           "resident_request", "walkthrough": {"guide_id": guide, "step": int(step),
                                                               "stuck_steps": tracker.get_slot("wt_stuck") or []}})
        dispatcher.utter_message(text=HANDOFF_TEXT, json_message=custom)
        services.count_reply("handoff")
        return [SlotSet("handoff_requested", True)]


def answer_readiness(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    result = ActionYesNo().run(dispatcher, tracker, domain)
    return list(result or [])


class ActionHandoffClosed(Action):
    """The gateway reports a closed ticket: the assistant speaks again and asks once how the help was."""

    def name(self) -> str:
        return "action_handoff_closed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ticket = str(((tracker.latest_message or {}).get("metadata") or {}).get("ticket") or "")
        dispatcher.utter_message(text=HANDOFF_CLOSED_TEXT, buttons=[HUMAN_BUTTON],
                                 json_message={"kind": "handoff_closed", "ticket": ticket})
        # the rating that answers this question is recorded with volunteer=True
        asked = ask_rating(dispatcher, {"about": "handoff", "ticket": ticket}, "handoff", HANDOFF_RATING_QUESTION)
        return [SlotSet("last_walkthrough", None), *asked]
