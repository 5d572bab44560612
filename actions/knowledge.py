"""Answering questions from the guides: NLU intent signals fused with hybrid retrieval."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import analytics, replies
from actions.retrieval.index import HybridIndex, get_index
from actions.settings import get_settings
from actions.text import has_diacritics

logger = logging.getLogger(__name__)

TOPIC_INTENT_PREFIX = "ask_"
NON_TOPIC_INTENTS = {"out_of_scope", "greet", "thank", "goodbye", "request_human", "give_feedback"}
# How much the intent classifier counts against retrieval when both have a view.
NLU_WEIGHT = 0.6
# Intent confidence above which an agreeing BM25 ranking is trusted without the dense encoder.
SURE = 0.85
# With retrieval alone (no topic intent at all) the fused score tops out at 1 - NLU_WEIGHT, below the answer
# threshold: a question the classifier does not recognise is never answered on retrieval alone, it is clarified.


def resident_text(tracker: Tracker) -> str:
    """What the resident wrote (PII already masked by the channel), not the NLU's folded matching form.

    Rasa's latest_message['text'] is the normaliser's output ("toi khong nhan duoc ma otp"); retrieval needs the
    original with its diacritics, which the latest user event keeps.
    """
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            text = event.get("text")
            return text if isinstance(text, str) else ""
    return (tracker.latest_message or {}).get("text") or ""


def guide_for_intent(intent: str | None) -> str | None:
    """'ask_vneid_activate' → 'vneid-activate'; None for intents that are not topics."""
    if not intent or not intent.startswith(TOPIC_INTENT_PREFIX):
        return None
    return intent[len(TOPIC_INTENT_PREFIX):].replace("_", "-")


@dataclass
class Decision:
    """What to do with a question: answer one guide, ask which of a few, or say it is out of scope."""

    kind: str
    guide_id: str | None = None
    section: str = ""
    confidence: float = 0.0
    candidates: list[str] = field(default_factory=list)


def decide(text: str, ranking: list[dict[str, Any]], index: HybridIndex, threshold: float, margin: float) -> Decision:
    """Fuse intent confidences with retrieval and choose answer / clarify / out-of-scope."""
    nlu: dict[str, float] = {}
    best_other, best_other_conf = None, 0.0
    for item in ranking:
        name, conf = item.get("name"), float(item.get("confidence") or 0.0)
        gid = guide_for_intent(name)
        if gid in index.guides:
            nlu[gid] = max(nlu.get(gid, 0.0), conf)
        elif name in NON_TOPIC_INTENTS and conf > best_other_conf:
            best_other, best_other_conf = name, conf
    # Cascade: when the classifier is sure and BM25 agrees, the dense encoder (most of an answer's cost) is skipped
    top_nlu = max(nlu, key=nlu.__getitem__) if nlu else None
    hits = index.search(text, top=5, use_dense=False)
    dense_used = not (top_nlu and nlu[top_nlu] >= SURE and hits and hits[0].guide_id == top_nlu)
    if dense_used and index.encoder is not None:
        hits = index.search(text, top=5)
    dense_weight = 1.0 if has_diacritics(text) else 0.5
    top_possible = index.max_score(dense_weight if dense_used and index.encoder is not None else 0.0)
    retrieval = {h.guide_id: min(1.0, h.score / top_possible) for h in hits}
    sections = {h.guide_id: h.section for h in hits}
    combined = {
        g: NLU_WEIGHT * nlu.get(g, 0.0) + (1 - NLU_WEIGHT) * retrieval.get(g, 0.0) for g in set(nlu) | set(retrieval)
    }
    ordered = sorted(combined, key=combined.__getitem__, reverse=True)
    if not ordered:
        return Decision("out_of_scope")
    top = ordered[0]
    top_score = combined[top]
    second = combined[ordered[1]] if len(ordered) > 1 else 0.0
    if top_score >= threshold and top_score - second >= margin:
        return Decision("answer", top, sections.get(top, ""), top_score, ordered[:3])
    if best_other == "out_of_scope" and best_other_conf >= max(nlu.values(), default=0.0) and top_score < threshold:
        return Decision("out_of_scope", confidence=best_other_conf, candidates=ordered[:3])
    candidates = [g for g in ordered[:3] if combined[g] >= top_score * 0.35]
    return Decision("clarify", confidence=top_score, candidates=candidates)


def send(dispatcher: CollectingDispatcher, message: dict[str, Any]) -> None:
    """Send a reply built by actions.replies."""
    dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [],
                             json_message=message["custom"])


def with_resume(tracker: Tracker, message: dict[str, Any]) -> dict[str, Any]:
    """During a walkthrough, a reply to a side question first offers to go back to the step."""
    step, total = tracker.get_slot("wt_step"), tracker.get_slot("wt_total")
    if tracker.get_slot("wt_guide") and step and total:
        button = {"title": f"Tiếp tục Bước {int(step)}/{int(total)}", "payload": "/nav_repeat"}
        message = {**message, "buttons": [button, *message.get("buttons", [])],
                   "custom": {**message["custom"], "resume_step": int(step)}}
    return message


def resume_events(tracker: Tracker) -> list[EventType]:
    """After a side question, "tiếp tục" should show the step the resident was on, not skip it."""
    return [SlotSet("wt_resume", True)] if tracker.get_slot("wt_guide") else []


class ActionAnswer(Action):
    """Answer a free question from the best guide, or ask which topic the resident means."""

    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        settings = get_settings()
        index = get_index()
        latest = tracker.latest_message or {}
        text = resident_text(tracker)
        decision = decide(text, latest.get("intent_ranking") or [], index, settings.answer_threshold,
                          settings.clarify_margin)
        logger.debug("decision for %s: %s", tracker.sender_id, decision)
        if decision.kind == "answer" and decision.guide_id:
            guide = index.guides[decision.guide_id]
            section = guide.section(decision.section) or next(
                (s for s in guide.sections if s.heading == decision.section), None)
            send(dispatcher, with_resume(tracker, replies.answer_message(guide, section, decision.confidence)))
            analytics.log_reply(tracker, "answer", guide_id=guide.id)
            return [SlotSet("topic", guide.id), *resume_events(tracker)]
        if decision.kind == "clarify" and decision.candidates:
            send(dispatcher, with_resume(tracker, replies.clarify_message([index.guides[g] for g in decision.candidates])))
            analytics.log_reply(tracker, "clarify", candidates=decision.candidates)
            return resume_events(tracker)
        dispatcher.utter_message(response="utter_out_of_scope")
        analytics.log_reply(tracker, "out_of_scope", candidates=decision.candidates)
        return []


class ActionChooseTopic(Action):
    """A topic picked from buttons: its summary, or its steps when asked for."""

    def name(self) -> str:
        return "action_choose_topic"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        index = get_index()
        entities = {e.get("entity"): e.get("value") for e in (tracker.latest_message or {}).get("entities", [])}
        guide = index.guides.get(str(entities.get("topic") or ""))
        if guide is None:
            send(dispatcher, replies.menu_message(index.guides, "Mình không tìm thấy mục đó. Bạn chọn lại giúp mình nhé:"))
            return []
        if entities.get("mode") == "steps":
            send(dispatcher, replies.steps_message(guide))
        else:
            send(dispatcher, replies.answer_message(guide, None))
        return [SlotSet("topic", guide.id)]
