"""Feedback from residents: recorded durably in the feedback log (actions/feedback_store.py) and acknowledged."""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import procedures
from actions.services import count_redis_error, get_feedback_store, resident_id
from actions.settings import get_settings
from actions.tracking import entities_of, intent_of, last_bot_custom, resident_text
from common.messages import say
from common.records import RATINGS, FeedbackRecord
from common.text import asks_for_a_person, asks_something, normalise, sensitive_request

logger = logging.getLogger(__name__)

# the words are in messages/vi.yml
FEEDBACK_TEXT = say("feedback.thanks")
FEEDBACK_INVITE_TEXT = say("feedback.invite")
FEEDBACK_FAILED_TEXT = say("feedback.failed")


RATING_QUESTION = say("rating.question.walkthrough")
RATING_TITLES = {rating: say(f"rating.{rating}") for rating in RATINGS}
# A rating answers the one question the bot asked (slot rating_pending): once, within this time.
RATING_TTL_S = 2 * 86400
RATING_STALE_TEXT = say("rating.stale")
RATING_THANKS = {rating: say(f"rating.thanks.{rating}") for rating in RATINGS}


# Ratings typed in words (normalised: folded, abbreviations expanded). The negative forms are checked first.
TYPED_RATINGS = (
    ("chua_hai_long", re.compile(r"\b(chua|khong|ko|hok|chang) (duoc )?(hai long|tot|on|hay)\b|\b(te|kem|do|that vong|"
                                 r"buc minh|kho hieu|khong giup duoc)\b")),
    ("binh_thuong", re.compile(r"\b(binh thuong|tam (duoc|on|tam)|cung duoc|trung binh|tuong doi|thuong thoi)\b")),
    ("hai_long", re.compile(r"\b(hai long|rat tot|tot lam|tot|tuyet voi|hay lam|de hieu|huu ich|ok|on lam|on roi|"
                            r"5 sao|nam sao)\b")),
)
# Words that ask to give feedback without giving any ("tôi muốn góp ý"), and words that carry no comment at all.
_FEEDBACK_REQUEST = re.compile(
    r"\b(toi|minh|em|anh|chi|con|cho|xin|muon|can|duoc|co|mot|vai|y kien|gop y|phan anh|kien nghi|de xuat|danh gia|"
    r"gui|nhan|noi|viet|ve|a|ah|nhe|nha|voi|chut|it|them|lai|tiep)\b")
# A greeting and nothing else ("xin chào", "alo bot ơi"): greeted back, not filed as a comment.
_GREETING = re.compile(r"\b(xin chao|chao|hello|helo|hi|hey|alo|a lo|ad|admin|bot|chatbot|tro ly|ban|em|anh|chi|oi|a|ah|nha|"
                       r"nhe|buoi sang|buoi chieu|buoi toi)\b")
_NO_COMMENT = re.compile(r"\b(cam on|thanks|thank|ok|vang|da|u|uh|khong|co|roi|a|nhe|nha|nhieu|ban|em|minh|tro ly|"
                         r"rat|lam|qua|nhe|that|thi|la)\b")


def typed_rating(text: str) -> tuple[str, str]:
    """A rating typed in words, and what else the message says (the comment): ("binh_thuong", "hơi dài")."""
    norm = normalise(text)
    for rating, pattern in TYPED_RATINGS:
        match = pattern.search(norm)
        if match:
            rest = (norm[: match.start()] + " " + norm[match.end():]).strip(" ,.!")
            return rating, rest
    return "", norm


def procedure_asked(text: str) -> procedures.ProcedureChoice | None:
    """An unsolicited "feedback" that is really a question naming a catalogue procedure outright."""
    if not asks_something(text):
        return None
    rules = get_settings().procedures
    choice = procedures.find(text, rules=rules)
    # the whole name, and a match strong enough to answer where the guides would ask (`overrides_clarify`)
    if choice is None or choice.kind != "answer" or choice.strength < 1.0 or not procedures.overrides_clarify(choice, rules):
        return None
    return choice


def says_nothing(norm: str, pattern: re.Pattern[str]) -> bool:
    """Whether a normalised text is only the given filler words."""
    return not pattern.sub(" ", norm).split()


def rating_buttons(question_id: str) -> list[dict[str, str]]:
    """The three answers, each bound to the question it answers (`q`), so an old or copied button is refused."""
    return [{"title": title, "payload": f'/rate{{"rating": "{rating}", "rating_q": "{question_id}"}}'}
            for rating, title in RATING_TITLES.items()]


def rating_question(context: dict[str, Any], question_id: str = "",
                    text: str = RATING_QUESTION) -> dict[str, Any]:
    """The one satisfaction question (with buttons bound to `question_id`)."""
    return {"text": text, "buttons": rating_buttons(question_id or new_question_id()),
            "custom": {"kind": "rating_question", **context}}


def new_question_id() -> str:
    """A random id for one rating question (12 URL-safe characters, fits any button payload)."""
    return secrets.token_urlsafe(9)


def ask_rating(dispatcher: CollectingDispatcher, context: dict[str, Any], about: str,
               text: str = RATING_QUESTION) -> list[EventType]:
    """Ask the satisfaction question and remember it as the one a rating may answer (slot rating_pending)."""
    question_id = new_question_id()
    question = rating_question(context, question_id, text)
    dispatcher.utter_message(text=question["text"], buttons=question["buttons"], json_message=question["custom"])
    pending = {"q": question_id, "about": about, "asked_at": time.time(), "context": context}
    return [SlotSet("rating_pending", pending)]


def pending_rating(tracker: Tracker, now: float | None = None) -> dict[str, Any] | None:
    """The rating question still waiting for an answer, unless it expired."""
    pending = tracker.get_slot("rating_pending")
    if not isinstance(pending, dict) or not pending.get("q"):
        return None
    asked_at = float(pending.get("asked_at") or 0)
    if (now or time.time()) - asked_at > RATING_TTL_S:
        return None
    return pending


ANSWER_RATING_QUESTION = say("rating.question.answer")
THANK_TEXT = say("thank")
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
    custom = last_bot_custom(tracker)
    return str(custom.get("id") or "") if custom.get("rating") else ""


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
        resident=resident_id(tracker.sender_id),
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
        norm = normalise(comment)
        # a comment written right after a rating belongs to that rating
        rating_id = rating_just_given(tracker)
        if says_nothing(norm, _FEEDBACK_REQUEST):
            # "tôi muốn góp ý": the comment is the next message, not this one
            dispatcher.utter_message(text=FEEDBACK_INVITE_TEXT, json_message={"kind": "feedback_invite"})
            return []
        if says_nothing(norm, _NO_COMMENT):
            dispatcher.utter_message(text=THANK_TEXT, json_message={"kind": "smalltalk"})
            return []
        if says_nothing(norm, _GREETING):
            # "xin chào" after a rating or an invitation is a greeting; "bot trả lời hay" (also read as one) is kept
            dispatcher.utter_message(response="utter_greet")
            return []
        invited = last_bot_custom(tracker).get("kind") == "feedback_invite"
        if not (rating_id or invited) and asks_for_a_person(comment):
            # "Nhờ xã cho cán bộ xuống nhà chứng thực chữ ký giùm mệ" reads like a complaint but asks for a person
            return [FollowupAction("action_handoff")]
        if not (rating_id or invited) and sensitive_request(comment):
            # "cho mình mua ảnh căn cước của ai đó…" is refused, not filed for the staff (a bribe reported with no
            # question is not a request: sensitive_request leaves it to feedback)
            return [FollowupAction("action_answer")]
        if not (rating_id or invited) and intent_of(tracker) == "give_feedback" and asks_something(comment):
            # "Hẹn trả kết quả từ tuần trước mà chưa có, tôi khiếu nại ở đâu?" complains but asks: the guides answer
            # it, or ask which topic; a comment the assistant asked for is kept whatever its shape
            return [FollowupAction("action_answer")]
        try:
            record = record_from(tracker, "comment")
            if rating_id:
                record = replace(record, rating_id=rating_id)
            entry_id = get_feedback_store().add(record, comment)
        except Exception as exc:  # noqa: BLE001 - the resident is told; nothing is acknowledged that was not stored
            logger.exception("Could not store feedback for a resident")
            count_redis_error(exc, "feedback")
            dispatcher.utter_message(text=FEEDBACK_FAILED_TEXT, json_message={"kind": "feedback", "stored": False})
            return []
        asked = None if rating_id or invited else procedure_asked(comment)
        if asked is not None:
            # "Tôi cần chứng thực chữ ký… làm ở UBND xã được không?" read as feedback: kept as feedback (nothing
            # lost), and the question gets its answer first
            procedures.reply(dispatcher, tracker, asked, procedures.get_index().guides)
        dispatcher.utter_message(
            text=FEEDBACK_TEXT,
            json_message={"kind": "feedback", "topic": tracker.get_slot("topic"), "stored": True, "id": entry_id},
        )
        return []


class ActionRate(Action):
    """Store a satisfaction rating for the question the bot asked (once, before it expires), then invite a comment.

    Ratings are what a commune reports (the 90 % / 95 % target), so a rating is accepted only as the answer to a
    question actually asked: its buttons carry that question's id, a typed rating answers the open question, and
    the question is closed once answered. A typed `/rate{…}`, an old button or a second tap is thanked, not stored.
    """

    def name(self) -> str:
        return "action_rate"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        entities = entities_of(tracker)
        rating, question_id = str(entities.get("rating") or ""), str(entities.get("rating_q") or "")
        comment = ""
        if not rating and not question_id:
            # typed, not tapped: "bình thường", "hài lòng, dễ hiểu lắm"
            rating, rest = typed_rating(resident_text(tracker))
            comment = resident_text(tracker) if rating and not says_nothing(rest, _NO_COMMENT) else ""
        pending = pending_rating(tracker)
        if pending is None or (question_id and question_id != pending["q"]):
            dispatcher.utter_message(text=RATING_STALE_TEXT,
                                     json_message={"kind": "feedback", "stored": False, "reason": "no_question"})
            return [SlotSet("rating_pending", None)] if tracker.get_slot("rating_pending") else []
        if rating not in RATINGS:
            # the same open question again, with the same id
            question = rating_question(pending.get("context") or {}, pending["q"])
            dispatcher.utter_message(text=question["text"], buttons=question["buttons"],
                                     json_message=question["custom"])
            return []
        try:
            record = record_for_rating(tracker, rating, pending)
            # the words typed with a rating ("bình thường, hơi dài") are kept as its comment
            entry_id = get_feedback_store().add(record, comment, once=f"rating:{pending['q']}")
        except Exception as exc:  # noqa: BLE001 - the resident is told; nothing is acknowledged that was not stored
            logger.exception("Could not store a rating")
            count_redis_error(exc, "feedback")
            dispatcher.utter_message(text=FEEDBACK_FAILED_TEXT, json_message={"kind": "feedback", "stored": False})
            return []
        dispatcher.utter_message(text=RATING_THANKS[rating],
                                 json_message={"kind": "feedback", "rating": rating, "stored": True, "id": entry_id})
        # what was rated is settled: the question is closed, a later rating is about something new
        return [SlotSet("rating_pending", None), SlotSet("last_walkthrough", None),
                SlotSet("handoff_requested", False)]


def record_for_rating(tracker: Tracker, rating: str, pending: dict[str, Any]) -> FeedbackRecord:
    """A rating record about what the question asked about: a walkthrough, an answer or a volunteer's help."""
    context = pending.get("context") or {}
    about = pending.get("about")
    walkthrough = dict(context) if about == "walkthrough" else {}
    if walkthrough:
        walkthrough["finished"] = True
    record = record_from(tracker, "rating", rating)
    return replace(record, walkthrough=walkthrough, volunteer=about == "handoff",
                   topic=str(context.get("guide_id") or record.topic or ""))


class ActionThank(Action):
    """Answer thanks; when they follow an answer that was not rated yet, ask the one rating question."""

    def name(self) -> str:
        return "action_thank"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        answer = last_rateable(tracker)
        if answer is None:
            dispatcher.utter_message(text=THANK_TEXT, json_message={"kind": "smalltalk"})
            return []
        return ask_rating(dispatcher, {"about": "answer", "guide_id": answer.get("guide_id", "")}, "answer",
                          ANSWER_RATING_QUESTION)
