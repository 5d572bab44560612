"""Answering questions from the guides: NLU intent signals fused with hybrid retrieval."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import procedures, replies, services
from actions.feedback import ActionFeedback
from actions.retrieval.calibration import FusionWeights
from actions.retrieval.index import HybridIndex, get_index
from actions.retrieval.sections import GENERAL, choose_section, same_part
from actions.services import get_commune
from actions.settings import get_settings
from actions.tracking import entities_of, intent_of, last_bot_custom, resident_text, send
from common.messages import say
from common.text import (
    PART_SHAPES,
    SHORT_QUESTION_MAX_WORDS,
    asks_about_privacy,
    asks_for_a_person,
    asks_something,
    asks_who_answers,
    gives_a_verdict,
    has_diacritics,
    normalise,
    part_shapes,
    proposes,
    sensitive_request,
    sounds_like_scam,
)

logger = logging.getLogger(__name__)

TOPIC_INTENT_PREFIX = "ask_"
NON_TOPIC_INTENTS = {"out_of_scope", "other_service", "sensitive", "greet", "thank", "goodbye", "request_human",
                     "give_feedback"}
# Intents that say "no guide answers this", and the decision each leads to.
# Words a message needs before the floor can rule every guide out (FusionWeights.floor).
FLOOR_MIN_WORDS = 5
OFF_TOPIC = {"out_of_scope": "out_of_scope", "other_service": "no_guide", "sensitive": "sensitive"}
# Intents that are something the resident does rather than a question, and the decision each leads to.
ACTS = {"give_feedback": "feedback", "request_human": "handoff"}
# Confidence the classifier needs to send a question to "no guide yet" or "sensitive".
OFF_TOPIC_MIN = 0.5
# ...and to call it out of scope: a one-word "giấy tờ" that every intent shares (out_of_scope 0.10, the rest below)
# is asked back with the likely guides, not turned away.
OUT_OF_SCOPE_MIN = 0.2
# A message that states something rather than asks goes to feedback when the classifier's give_feedback is at least
# this share of its surest topic ("Đề nghị xã bỏ bản sao căn cước…" names a topic but asks nothing); a request for a
# person goes to a person at this share whatever its shape ("nhờ cán bộ làm giùm giấy khai sinh").
FEEDBACK_SHARE = 0.5
HANDOFF_SHARE = 0.5
# Intent confidence above which an agreeing BM25 ranking is trusted without the dense encoder.
SURE = 0.85
# A follow-up this short that asks for a part every guide has ("phí bao nhiêu", "cần giấy tờ gì", "làm ở đâu") is about
# the guide the previous reply came from: it has no room to name another topic.
FOLLOW_UP_MAX_WORDS = SHORT_QUESTION_MAX_WORDS
# The guide for a doubted unsolicited call, text or link, whatever procedure the caller named.
SCAM_GUIDE = "scam-safety"
# With retrieval alone (no topic intent at all) the fused score tops out at 1 - NLU_WEIGHT, below the answer
# threshold: a question the classifier does not recognise is never answered on retrieval alone, it is clarified.


def guide_for_intent(intent: str | None) -> str | None:
    """'ask_vneid_activate' → 'vneid-activate'; None for intents that are not topics."""
    if not intent or not intent.startswith(TOPIC_INTENT_PREFIX):
        return None
    return intent[len(TOPIC_INTENT_PREFIX):].replace("_", "-")


def topic_ranking(latest: dict[str, Any]) -> list[dict[str, Any]]:
    """The classifier's view of the topic alone: its topic intents, rescaled to sum to 1 (a walkthrough request
    says nothing about which topic)."""
    return rescaled([r for r in latest.get("intent_ranking") or [] if guide_for_intent(r.get("name"))])


def rescaled(ranking: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Intent confidences rescaled to sum to 1, once some intents are left out."""
    total = sum(float(r.get("confidence") or 0) for r in ranking) or 1.0
    return [{"name": r["name"], "confidence": float(r.get("confidence") or 0) / total} for r in ranking]


@dataclass
class Decision:
    """What to do with a question: answer one guide, ask which of a few, or say it is out of scope."""

    kind: str
    guide_id: str | None = None
    confidence: float = 0.0
    candidates: list[str] = field(default_factory=list)
    reason: str = ""  # why a "sensitive" decision was taken (common.text.sensitive_request), "" for the classifier's


@dataclass
class Signals:
    """What the classifier and retrieval say about a question, before any weight or threshold is applied."""

    nlu: dict[str, float]  # guide → intent confidence
    lexical: dict[str, float]  # guide → BM25 score of its best passage
    dense: dict[str, float] | None  # guide → cosine of its best passage (None: the encoder was not needed)
    accented: bool
    best_other: str | None  # the strongest non-topic intent
    best_other_conf: float
    acts: dict[str, float] = field(default_factory=dict)  # give_feedback / request_human → intent confidence
    asks: bool = True  # the message asks something (common.text.asks_something)
    proposes: bool = False  # the message puts a proposal or complaint on record (common.text.proposes)
    sensitive: str = ""  # what the message asks that the assistant must not take up (common.text.sensitive_request)
    wants_person: bool = False  # the message asks for a person, a call back or a visit (common.text.asks_for_a_person)
    verdict: bool = False  # the message judges the service and asks nothing (common.text.gives_a_verdict)
    words: int = 0  # how many words the message has (a short one is too little to tell "no guide" from "vague")
    doubts_a_contact: bool = False  # it doubts an unsolicited call, text or link (common.text.sounds_like_scam)


def signals(text: str, ranking: list[dict[str, Any]], index: HybridIndex) -> Signals:
    """Intent confidences per guide, and each guide's best lexical and dense passage scores, for one question."""
    nlu: dict[str, float] = {}
    acts: dict[str, float] = {}
    best_other, best_other_conf = None, 0.0
    for item in ranking:
        name, conf = item.get("name"), float(item.get("confidence") or 0.0)
        gid = guide_for_intent(name)
        if gid in index.guides:
            nlu[gid] = max(nlu.get(gid, 0.0), conf)
        elif name in NON_TOPIC_INTENTS and conf > best_other_conf:
            best_other, best_other_conf = name, conf
        if name in ACTS:
            acts[ACTS[name]] = conf
    lexical = index.guide_scores_lexical(text)
    # Cascade: when the classifier is sure and BM25 agrees, the dense encoder (most of an answer's cost) is skipped
    top_nlu = max(nlu, key=nlu.__getitem__) if nlu else None
    top_lex = max(lexical, key=lexical.__getitem__) if lexical else None
    sure = top_nlu is not None and nlu[top_nlu] >= SURE and top_lex == top_nlu
    dense = None if sure else index.guide_scores_dense(text)
    return Signals(nlu, lexical, dense, has_diacritics(text), best_other, best_other_conf, acts,
                   asks_something(text), proposes(text), sensitive_request(text), asks_for_a_person(text),
                   gives_a_verdict(text), len(normalise(text).split()), sounds_like_scam(text))


def fused_scores(sig: Signals, weights: FusionWeights) -> dict[str, float]:
    """Guide → one score in 0..1: weighted intent confidence, relative BM25 and dense votes.

    Retrieval's share is scaled by how strong the best lexical match is in absolute terms (`lexical_full`), so a
    question that matches no guide well ranks low everywhere, not just relative to the others.
    """
    top_lex = max(sig.lexical.values(), default=0.0)
    strength = min(1.0, top_lex / weights.lexical_full) if weights.lexical_full > 0 else 1.0
    lex = {g: v / top_lex for g, v in sig.lexical.items()} if top_lex > 0 else {}
    if sig.dense:
        low, high = min(sig.dense.values()), max(sig.dense.values())
        dense = {g: (v - low) / (high - low) for g, v in sig.dense.items()} if high > low else {}
    else:
        dense = lex  # skipped because classifier and BM25 agree: BM25 stands in
    dense_weight = weights.dense * (1.0 if sig.accented else weights.dense_unaccented)
    total = weights.nlu + weights.lexical + dense_weight or 1.0
    guides = set(sig.nlu) | set(lex) | set(dense)
    return {g: (weights.nlu * sig.nlu.get(g, 0.0)
                + strength * (weights.lexical * lex.get(g, 0.0) + dense_weight * dense.get(g, 0.0))) / total
            for g in guides}


def off_topic_intent(sig: Signals) -> bool:
    """The classifier files the question outside the guides, and is surer of that than of any guide.

    "No guide yet" and "sensitive" need a real vote (OFF_TOPIC_MIN), out of scope a smaller one (OUT_OF_SCOPE_MIN): a
    vague "giấy tờ" the classifier barely reads is clarified, not refused.
    """
    if sig.best_other not in OFF_TOPIC or sig.best_other_conf < max(sig.nlu.values(), default=0.0):
        return False
    if sig.best_other == "out_of_scope":
        return sig.best_other_conf >= OUT_OF_SCOPE_MIN
    return sig.best_other_conf >= OFF_TOPIC_MIN


def tied(sig: Signals) -> bool:
    """The classifier's two likeliest guides are equally likely: a tie is no vote."""
    intents = sorted(sig.nlu.values(), reverse=True)
    return len(intents) > 1 and intents[0] == intents[1]


def unanimous(sig: Signals, weights: FusionWeights) -> str | None:
    """The guide the classifier, BM25 and the fused score all rank first, if they agree."""
    fused = fused_scores(sig, weights)
    if not sig.nlu or not sig.lexical or not fused:
        return None
    top = max(fused, key=fused.__getitem__)
    if tied(sig):
        return None
    same = max(sig.nlu, key=sig.nlu.__getitem__) == top and max(sig.lexical, key=sig.lexical.__getitem__) == top
    return top if same else None


def agreed(sig: Signals, top: str, weights: FusionWeights) -> bool:
    """The classifier is sure of `top` and BM25, or on accented text the dense encoder, ranks it first too (the
    calibrated consensus rules; `top` is the fused score's first guide)."""
    sure = sig.nlu.get(top, 0.0)
    if weights.consensus > 0 and sure >= weights.consensus and unanimous(sig, weights) == top:
        return True
    if weights.dense_consensus <= 0 or sure < weights.dense_consensus or not sig.accented or not sig.dense:
        return False
    return not tied(sig) and max(sig.nlu, key=sig.nlu.__getitem__) == top == max(sig.dense, key=sig.dense.__getitem__)


def act_of(sig: Signals) -> str | None:
    """Feedback or a request for a person that the classifier ranks close behind a topic (see FEEDBACK_SHARE).

    A message that puts a proposal or complaint on record in so many words ("Tôi kiến nghị bỏ…", "Đề nghị xã mở…")
    is feedback whatever topic it names, unless it asks something ("…thì gửi ở đâu", "…có mất phí không";
    common.text.proposes), and so is a verdict on the service that asks nothing (common.text.gives_a_verdict). One that
    asks for a person, a call back or a visit in so many words ("cho tôi gặp cán bộ nào biết tiếng Chăm", "xin công an
    cử người xuống nhà…") is a request for a person (common.text.asks_for_a_person).
    """
    top = max(sig.nlu.values(), default=0.0)
    handoff, feedback = sig.acts.get("handoff", 0.0), sig.acts.get("feedback", 0.0)
    if sig.wants_person or (handoff > 0 and handoff >= HANDOFF_SHARE * top and handoff >= feedback):
        return "handoff"
    if sig.proposes or sig.verdict:  # "Đề nghị xã mở…", "tệ quá", "nhà em cảm ơn các anh chị lắm"
        return "feedback"
    if feedback > 0 and not sig.asks and feedback >= FEEDBACK_SHARE * top:
        return "feedback"
    return None


def route(sig: Signals, threshold: float, margin: float, weights: FusionWeights | None = None) -> Decision:
    """Answer / clarify / no guide / sensitive / out-of-scope from the signals and the calibrated settings.

    Answer when the best guide's fused score clears the threshold by the margin over the next; a question the
    classifier files as a public service without a guide ("other_service") or a sensitive one ("sensitive") gets
    that reply whenever the classifier is surer of it than of any guide; plain out-of-scope only when no guide
    clears the threshold; everything else is a clarifying question with the likely guides as buttons.
    """
    if sig.sensitive:
        # "xin số Zalo riêng của ông trưởng công an xã", "bồi dưỡng cán bộ bao nhiêu", "vô vneid của vợ coi tin nhắn":
        # not a request for a person, nor a guide's topic, whatever words of one it uses
        return Decision("sensitive", confidence=1.0, reason=sig.sensitive)
    act = act_of(sig)
    if act is not None:
        return Decision(act, confidence=sig.acts.get(act, 0.0))
    combined = {g: v for g, v in fused_scores(sig, weights or FusionWeights()).items() if v > 0}
    ordered = sorted(combined, key=combined.__getitem__, reverse=True)
    best_other = sig.best_other
    off_topic = off_topic_intent(sig)
    if not ordered:
        return Decision(OFF_TOPIC[best_other] if off_topic and best_other else "out_of_scope",
                        confidence=sig.best_other_conf)
    top = ordered[0]
    top_score = combined[top]
    second = combined[ordered[1]] if len(ordered) > 1 else 0.0
    if off_topic and best_other and (best_other != "out_of_scope" or top_score < threshold):
        return Decision(OFF_TOPIC[best_other], confidence=sig.best_other_conf, candidates=ordered[:3])
    if agreed(sig, top, weights or FusionWeights()):
        return Decision("answer", top, top_score, ordered[:3])
    if top_score >= threshold and top_score - second >= margin:
        return Decision("answer", top, top_score, ordered[:3])
    if sig.doubts_a_contact and SCAM_GUIDE in ordered[:3] and combined[SCAM_GUIDE] >= top_score * 0.5:
        # "có người gọi xưng bảo hiểm xã hội… kêu đọc số căn cước, có nên đọc không": a doubted call, text or link is
        # what the scam guide answers, whichever procedure the caller named (the procedure's own guide ranks close)
        return Decision("answer", SCAM_GUIDE, combined[SCAM_GUIDE], ordered[:3])
    if top_score < (weights or FusionWeights()).floor and sig.words >= FLOOR_MIN_WORDS:
        # "tiền điện tháng này sao cao quá", "trẻ dưới 1 tuổi uống mật ong được không": no guide comes close, and
        # buttons for the closest ones (traffic fines, VNeID level 2) would only send the resident the wrong way.
        # A vague short message ("giấy tờ") is asked about instead: it says too little to rule the guides out.
        return Decision(OFF_TOPIC.get(best_other or "", "no_guide"), confidence=top_score, candidates=ordered[:3])
    candidates = [g for g in ordered[:3] if combined[g] >= top_score * 0.5]
    return Decision("clarify", confidence=top_score, candidates=candidates)


def decide(text: str, ranking: list[dict[str, Any]], index: HybridIndex, threshold: float, margin: float,
           weights: FusionWeights | None = None) -> Decision:
    """Fuse intent confidences with retrieval and choose what to do (see `route`)."""
    return route(signals(text, ranking, index), threshold, margin, weights)


def with_resume(tracker: Tracker, message: dict[str, Any]) -> dict[str, Any]:
    """During a walkthrough, a reply to a side question first offers to go back to the step."""
    step, total = tracker.get_slot("wt_step"), tracker.get_slot("wt_total")
    if tracker.get_slot("wt_guide") and step and total:
        button = {"title": say("button.resume_at", step=int(step), total=int(total)), "payload": "/nav_repeat"}
        message = {**message, "buttons": [button, *message.get("buttons", [])],
                   "custom": {**message["custom"], "resume_step": int(step)}}
    return message


def resume_events(tracker: Tracker) -> list[EventType]:
    """After a side question, "tiếp tục" should show the step the resident was on, not skip it."""
    return [SlotSet("wt_resume", True)] if tracker.get_slot("wt_guide") else []


def asked_for_a_comment(tracker: Tracker) -> bool:
    """The assistant's previous message asked for feedback: an invitation, or thanks for a middling or bad rating."""
    custom = last_bot_custom(tracker)
    return custom.get("kind") == "feedback_invite" or (
        custom.get("kind") == "feedback" and custom.get("rating") in ("binh_thuong", "chua_hai_long"))


def answer_from_guide(dispatcher: CollectingDispatcher, tracker: Tracker, index: HybridIndex, guide_id: str,
                      text: str, confidence: float, heading: str | None = None) -> list[EventType]:
    """Answer from the part of a guide that holds the answer (`heading`, when already chosen), and remember the topic."""
    guide = index.guides[guide_id]
    if heading is None:
        heading = choose_section(index, guide.id, text, get_settings().sections).heading
    section = next((s for s in guide.sections if s.heading == heading), None)
    send(dispatcher, with_resume(tracker, replies.answer_message(guide, section, confidence, question=text)))
    services.log_reply(tracker, "answer", guide_id=guide.id)
    return [SlotSet("topic", guide.id), *resume_events(tracker)]


def short_follow_up(text: str, needs_cue: bool = True) -> bool:
    """At most FOLLOW_UP_MAX_WORDS words that ask for the fee, the papers, where to ask or the steps (`PART_SHAPES`;
    `needs_cue=False` when the intent already says what is asked, as "hướng dẫn từng bước" does)."""
    return len(normalise(text).split()) <= FOLLOW_UP_MAX_WORDS and (not needs_cue or bool(part_shapes(text)))


def follows_no_guide(tracker: Tracker, text: str, needs_cue: bool = True) -> bool:
    """This message is a short follow-up to the "no guide for this yet" reply: "phí bao nhiêu" after "sang tên xe
    máy" is still about a service no guide covers."""
    return last_bot_custom(tracker).get("kind") == "no_guide" and short_follow_up(text, needs_cue)


def conversation_guide(tracker: Tracker) -> str | None:
    """The guide the assistant's previous reply (an answer or a walkthrough step) came from, if it came from one."""
    custom = last_bot_custom(tracker)
    guide_id = custom.get("guide_id")
    if custom.get("kind") not in ("answer", "walkthrough") or not isinstance(guide_id, str) or not guide_id:
        return None
    return guide_id


def follow_up_guide(tracker: Tracker, text: str, needs_cue: bool = True) -> str | None:
    """The guide the assistant's previous reply (an answer or a walkthrough step) came from, when this message is a
    short follow-up about it (`short_follow_up`). None otherwise."""
    guide_id = conversation_guide(tracker)
    return guide_id if guide_id and short_follow_up(text, needs_cue) else None


def follow_up_choices(tracker: Tracker, text: str, needs_cue: bool = True) -> list[str]:
    """The guides the assistant's previous reply offered ("which one?"), when this message is a short follow-up
    (`short_follow_up`): "các bước thế nào" after that question still asks about one of them. [] otherwise."""
    custom = last_bot_custom(tracker)
    offered = custom.get("candidates")
    if custom.get("kind") != "clarify" or not isinstance(offered, list) or not short_follow_up(text, needs_cue):
        return []
    return [g for g in offered if isinstance(g, str) and g]


def follow_up_procedure(tracker: Tracker, text: str, needs_cue: bool = True) -> str | None:
    """The catalogue procedure whose card the assistant's previous reply was, when this message is a short follow-up
    about it ("phí hết bao nhiêu" after the card for transferring a motorbike). None otherwise."""
    custom = last_bot_custom(tracker)
    code = custom.get("procedure_code")
    if custom.get("kind") != "procedure" or not isinstance(code, str) or not code:
        return None
    return code if short_follow_up(text, needs_cue) else None


def follows_up(tracker: Tracker, text: str) -> bool:
    """A short follow-up, with a part's shape, to an answer, a walkthrough step, a procedure's card or a "which one?"
    question."""
    return bool(follow_up_guide(tracker, text) or follow_up_choices(tracker, text)
                or follow_up_procedure(tracker, text))


def follow_up_part(index: HybridIndex, guide_id: str, text: str) -> str | None:
    """The part of a guide a short follow-up asks for: the one its words choose among the parts it asks for, else
    the first of those the guide has ("phí bao nhiêu" is the fee part, not the late-registration part that also
    mentions a fee). A follow-up with no part's shape ("nộp trễ thì sao") gets the part its words choose, unless
    that is the summary the resident has just read. None when there is no such part."""
    asked = part_shapes(text)
    chosen = choose_section(index, guide_id, text, get_settings().sections).heading
    if chosen in asked or (not asked and chosen != GENERAL):
        return chosen
    headings = {section.heading for section in index.guides[guide_id].sections}
    return next((heading for heading in PART_SHAPES if heading in asked and heading in headings), None)


def named_part(heading: str) -> bool:
    """A part written for one situation ("Không nhận được mã OTP"), not the summary or the fees, papers, contacts
    and steps parts every guide has."""
    return heading != GENERAL and not any(same_part(heading, shared) for shared in PART_SHAPES)


def answered_alike(candidates: list[str], parts: dict[str, str]) -> bool:
    """The two likeliest guides would answer with a named part of the same name (see `named_part`)."""
    if len(candidates) < 2:
        return False
    first, second = parts.get(candidates[0], GENERAL), parts.get(candidates[1], GENERAL)
    return named_part(first) and same_part(first, second)


def about_the_assistant(text: str) -> str | None:
    """A question about the assistant itself: "who" (a person or a program?), "privacy" (is what I write kept?)."""
    if sensitive_request(text):
        return None
    if asks_who_answers(text):
        return "who"
    return "privacy" if asks_about_privacy(text) else None


def tell_about_the_assistant(dispatcher: CollectingDispatcher, tracker: Tracker, what: str) -> list[EventType]:
    """"Em là người thật hay máy?": the greeting, which says it is the commune's automated assistant and offers a
    person. "Thông tin của tôi có bị lưu lại không?": what is kept, masked and deleted, and when."""
    if what == "privacy":
        send(dispatcher, replies.privacy_message(get_settings().feedback_retention_days))
    else:
        dispatcher.utter_message(response="utter_greet")
    services.log_reply(tracker, "smalltalk")
    return []


class ActionAnswer(Action):
    """Answer a free question from the best guide, or ask which topic the resident means."""

    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if asked_for_a_comment(tracker):
            # the assistant just asked for the comment ("tôi muốn góp ý" → "write it in your next message", or
            # "bình thường" → "what should be better?"): this is it, even when it reads like a question
            return ActionFeedback().run(dispatcher, tracker, domain)
        settings = get_settings()
        index = get_index()
        latest = tracker.latest_message or {}
        text = resident_text(tracker)
        about = about_the_assistant(text)
        if about:
            return tell_about_the_assistant(dispatcher, tracker, about)
        ranking = latest.get("intent_ranking") or []
        if intent_of(tracker) == "give_feedback":  # a question read as feedback (action_feedback handed it over)
            ranking = rescaled([r for r in ranking if r.get("name") != "give_feedback"])
        decision = decide(text, ranking, index, settings.answer_threshold, settings.clarify_margin, settings.fusion)
        logger.debug("decision for %s: %s", tracker.sender_id, decision)
        if decision.kind == "feedback":
            return ActionFeedback().run(dispatcher, tracker, domain)
        if decision.kind == "handoff":
            return [FollowupAction("action_handoff")]  # the handoff action flags the conversation for the gateways
        # the classifier's own word that the message names no procedure: the conversation outweighs a guide whose
        # words it shares ("nộp trễ hạn thì sao" after the birth answer is not about late death registration)
        part_question = intent_of(tracker) == "part_question"
        open_kinds = ("clarify", "out_of_scope", "answer") if part_question else ("clarify", "out_of_scope")
        context = follow_up_guide(tracker, text, needs_cue=not part_question) if decision.kind in open_kinds else None
        if context in index.guides:
            # "phí bao nhiêu" right after the birth-registration answer asks for that guide's fee, not which topic:
            # the part it asks for, when the guide has one (otherwise the question is asked back as before)
            heading = follow_up_part(index, context, text)
            if heading is not None:
                return answer_from_guide(dispatcher, tracker, index, context, text, decision.confidence, heading)
        card = follow_up_procedure(tracker, text, needs_cue=not part_question) if decision.kind in open_kinds else None
        record = procedures.get_procedure_index().by_code.get(card or "")
        if record is not None:
            # "phí hết bao nhiêu" right after a procedure's card: that card's fee part, not "which topic?"
            send(dispatcher, with_resume(tracker, procedures.part_card(record, text, index.guides)))
            services.log_reply(tracker, "procedure", candidates=[record.code])
            return resume_events(tracker)
        if decision.kind == "clarify" and decision.candidates and decision.candidates[0] == conversation_guide(tracker):
            # "tôi đang đi làm xa nhà thì nộp ở chỗ đang ở được không" right after the birth-registration answer:
            # the guide that scores best, though not by enough to answer alone, is the one the conversation is about
            return answer_from_guide(dispatcher, tracker, index, decision.candidates[0], text, decision.confidence)
        offered = [g for g in follow_up_choices(tracker, text, needs_cue=not part_question) if g in index.guides] \
            if decision.kind in open_kinds else []
        if offered:
            # "các bước thế nào" right after "which one?" asks the same question again, about the same guides: each
            # button now opens the part this message asks for
            parts = {g: follow_up_part(index, g, text) or GENERAL for g in offered}
            send(dispatcher, with_resume(tracker, replies.clarify_message([index.guides[g] for g in offered], parts)))
            services.log_reply(tracker, "clarify", candidates=offered)
            return resume_events(tracker)
        if decision.kind in ("clarify", "out_of_scope") and follows_no_guide(tracker, text, needs_cue=not part_question):
            # the fee or the place of a service no guide covers: the same honest reply, not guides that do not fit
            send(dispatcher, with_resume(tracker, replies.no_guide_message(get_commune())))
            services.log_reply(tracker, "no_guide", candidates=decision.candidates)
            return resume_events(tracker)
        catalogue = procedures.get_procedure_index()
        fused = procedures.plan(decision.kind, decision.guide_id, decision.confidence, bool(decision.candidates),
                                catalogue.search(text, top=5), text, index.guides, settings.procedures, catalogue)
        if fused.kind == "guide" and fused.guide_id:
            confidence = decision.confidence if fused.guide_id == decision.guide_id else (
                fused.choice.strength if fused.choice else decision.confidence)
            return answer_from_guide(dispatcher, tracker, index, fused.guide_id, text, confidence)
        if fused.kind == "catalogue" and fused.choice is not None and decision.kind == "answer" and decision.guide_id \
                and not procedures.names_outright(fused.choice.records[0], text, catalogue):
            heading = choose_section(index, decision.guide_id, text, settings.sections).heading
            if named_part(heading):
                # the guide has a part written for this very situation ("Mất giấy khai sinh, cần bản sao": no need to
                # register again), which says more than the card of a sibling procedure whose words the question
                # only shares ("đăng ký khai sinh lần nữa" is not "Đăng ký lại khai sinh"); a procedure named
                # outright ("chứng thực di chúc") keeps its card
                return answer_from_guide(dispatcher, tracker, index, decision.guide_id, text, decision.confidence,
                                         heading)
        if fused.kind == "catalogue" and fused.choice is not None:
            procedures.reply(dispatcher, tracker, fused.choice, index.guides, lambda m: with_resume(tracker, m))
            return resume_events(tracker)
        if decision.kind in ("no_guide", "sensitive"):
            # Only the rule refuses (decision.reason, common.text.sensitive_request). The classifier's sensitive reading
            # alone was wrong more often than right on the validation sets once the rule named what it refuses (15
            # of 25: feedback, services without a guide, chat): it gets the honest "no guide for this" reply, with the
            # official channel and a person, and still never a guide's or the catalogue's answer.
            refuse = decision.kind == "sensitive" and bool(decision.reason)
            send(dispatcher, with_resume(tracker, replies.sensitive_message(decision.reason) if refuse
                                         else replies.no_guide_message(get_commune())))
            services.log_reply(tracker, "sensitive" if refuse else "no_guide", candidates=decision.candidates)
            return resume_events(tracker)
        if decision.kind == "clarify" and decision.candidates:
            parts = {g: choose_section(index, g, text, settings.sections).heading for g in decision.candidates}
            if fused.kind != "clarify_plus" and answered_alike(decision.candidates, parts):
                # the two likeliest guides answer it with the same part ("Không nhận được mã OTP" in activation and
                # in troubleshooting): asking which guide would cost a tap and change nothing
                first = decision.candidates[0]
                return answer_from_guide(dispatcher, tracker, index, first, text, decision.confidence, parts[first])
            message = replies.clarify_message([index.guides[g] for g in decision.candidates], parts)
            if fused.kind == "clarify_plus" and fused.choice is not None:  # the catalogue's match as one more button
                button, code = procedures.procedure_button_for(fused.choice)
                message = {**message, "buttons": [*message["buttons"][:-1], button, message["buttons"][-1]],
                           "custom": {**message["custom"], "procedure_candidates": [code]}}
            send(dispatcher, with_resume(tracker, message))
            services.log_reply(tracker, "clarify", candidates=decision.candidates)
            return resume_events(tracker)
        dispatcher.utter_message(response="utter_out_of_scope")
        services.log_reply(tracker, "out_of_scope", candidates=decision.candidates)
        return []


class ActionChooseTopic(Action):
    """A topic picked from buttons: its summary, or its steps when asked for."""

    def name(self) -> str:
        return "action_choose_topic"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        index = get_index()
        entities = entities_of(tracker)
        guide = index.guides.get(str(entities.get("topic") or ""))
        if guide is None:
            send(dispatcher, replies.menu_message(index.guides, say("menu.not_found")))
            return []
        position = str(entities.get("section") or "")
        section = guide.sections[int(position)] if position.isdigit() and int(position) < len(guide.sections) else None
        send(dispatcher, with_resume(tracker, replies.answer_message(guide, section)))
        return [SlotSet("topic", guide.id), *resume_events(tracker)]
