"""Step-by-step walkthroughs ("cầm tay chỉ việc"): readiness check, one step per message, stuck help, resume.

State lives in slots (wt_*); the moves are pure functions in actions/walkthrough_flow.py. Every walkthrough reply
carries `custom.kind == "walkthrough"` with an `event` (started, step, stuck, finished, abandoned) plus guide, step,
start time and stuck steps, so the feedback log can compute completion rates and durations from the tracker.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import procedures, replies, services
from actions import walkthrough_flow as flow
from actions.feedback import ask_rating
from actions.knowledge import (
    ActionAnswer,
    decide,
    follow_up_guide,
    follows_up,
    route,
    short_follow_up,
    signals,
    topic_ranking,
    unanimous,
)
from actions.retrieval.index import get_index
from actions.services import get_commune
from actions.settings import get_settings
from actions.tracking import intent_of, last_bot_custom, resident_text, send
from common.guides import Guide
from common.messages import say
from common.text import normalise, part_shapes, truncate

logger = logging.getLogger(__name__)

NAV_BUTTONS = [
    {"title": say("button.next"), "payload": "/nav_next"},
    {"title": say("button.back"), "payload": "/nav_back"},
    {"title": say("button.repeat"), "payload": "/nav_repeat"},
    {"title": say("button.stuck"), "payload": "/nav_stuck"},
    {"title": say("button.done"), "payload": "/nav_done"},
    {"title": say("button.nav_menu"), "payload": "/nav_menu"},
]
READINESS_SLOTS = {
    "vneid-level2": "has_vneid_level2",
    "payment-account": "has_payment_account",
    "e-signature": "has_e_signature",
    "smartphone-nfc": "has_smartphone_nfc",
}
WT_SLOTS = ("wt_guide", "wt_step", "wt_total", "wt_started_at", "wt_stuck", "wt_resume")
SCAM_REMINDER = say("walkthrough.scam_reminder")


def start_button(guide: Guide, title: str | None = None) -> dict[str, str]:
    """A button that starts a guide's walkthrough."""
    return {"title": title or replies.truncate(guide.short_title, 40),
            "payload": f'/start_walkthrough{{"topic": "{guide.id}"}}'}


def state_from(tracker: Tracker) -> flow.WalkState | None:
    """The walkthrough in progress, read from slots (None when there is none)."""
    guide_id, step, total = tracker.get_slot("wt_guide"), tracker.get_slot("wt_step"), tracker.get_slot("wt_total")
    if not guide_id or not step or not total:
        return None
    stuck = tuple(int(s) for s in (tracker.get_slot("wt_stuck") or []))
    return flow.WalkState(str(guide_id), int(step), int(total), float(tracker.get_slot("wt_started_at") or 0), stuck)


def state_events(state: flow.WalkState | None) -> list[EventType]:
    """Slot events that store a walkthrough state (or clear it)."""
    if state is None or state.finished:
        return [SlotSet(name, None) for name in WT_SLOTS]
    return [SlotSet("wt_guide", state.guide_id), SlotSet("wt_step", state.step), SlotSet("wt_total", state.total),
            SlotSet("wt_started_at", state.started_at), SlotSet("wt_stuck", list(state.stuck_steps)),
            SlotSet("wt_resume", False)]


def event_payload(state: flow.WalkState, event: str, now: float) -> dict[str, Any]:
    """Machine-readable walkthrough event for channels and the feedback log."""
    payload: dict[str, Any] = {"kind": "walkthrough", "event": event, "guide_id": state.guide_id, "step": state.step,
                               "total": state.total, "started_at": round(state.started_at, 3),
                               "stuck_steps": list(state.stuck_steps)}
    if event == "finished":
        payload["duration_s"] = round(now - state.started_at, 1)
        payload["ask_feedback"] = True
    return payload


def step_message(guide: Guide, state: flow.WalkState, event: str, now: float) -> dict[str, Any]:
    """One step: 'Bước 2/6', the action, local details where the step sends the resident somewhere."""
    text = guide.steps[state.step - 1]
    local = get_commune().local_details(text)
    body = say("walkthrough.step", step=state.step, total=state.total, title=guide.short_title, text=text)
    if local:
        body += f"\n\n{local}"
    if state.step == 1 and event == "started":
        body = say("walkthrough.intro", body=body)
    return {"text": truncate(body, 1900), "buttons": NAV_BUTTONS, "custom": event_payload(state, event, now)}


def stuck_message(guide: Guide, state: flow.WalkState, guides: dict[str, Guide], now: float) -> dict[str, Any]:
    """Troubleshooting for the current step, then the way back to the step or to a person."""
    helps = flow.troubleshooting(guide, state.step, guides)
    parts = [say("walkthrough.stuck", step=state.step, total=state.total)]
    for _, section in helps[:2]:
        parts.append(f"👉 {section.heading}\n{section.body}")
    buttons = [{"title": say("button.redo_step"), "payload": "/nav_repeat"},
               {"title": say("button.ok_next"), "payload": "/nav_next"},
               {"title": say("button.stuck_human"), "payload": "/request_human"}]
    custom = event_payload(state, "stuck", now)
    custom["help"] = [f"{g.id}#{s.heading}" for g, s in helps[:2]]
    return {"text": truncate("\n\n".join(parts), 1900), "buttons": buttons, "custom": custom}


def finish_message(guide: Guide, state: flow.WalkState, now: float,
                   guides: dict[str, Guide] | None = None) -> dict[str, Any]:
    """What happens next, a scam reminder, and the hook for the satisfaction question."""
    fees = guide.section("Phí và thời gian")
    parts = [say("walkthrough.finished", title=guide.short_title)]
    if fees and fees.body:
        parts.append(say("walkthrough.finished_next", fees=truncate(fees.body, 600)))
    buttons = [replies.MENU_BUTTON]
    if guide.id in flow.FILES_A_DOSSIER:
        parts.append(say("walkthrough.finished_track"))
        buttons.insert(0, {"title": say("button.track"), "payload": '/choose_topic{"topic": "dvc-track"}'})
    parts.append(SCAM_REMINDER)
    follow = (guides or {}).get(flow.FOLLOW_UP.get(guide.id, ""))
    if follow is not None:
        buttons.insert(0, start_button(follow, truncate(say("button.next_guide", title=follow.short_title), 40)))
    return {"text": truncate("\n\n".join(parts), 1900), "buttons": buttons,
            "custom": event_payload(state, "finished", now)}


def readiness_question(need: str, guide: Guide) -> dict[str, Any]:
    """One yes/no question of the readiness check."""
    return {
        "text": say("walkthrough.readiness", title=guide.short_title, question=flow.PRECONDITION_QUESTIONS[need]),
        "buttons": [{"title": say("button.have"), "payload": "/affirm"}, {"title": say("button.have_not"), "payload": "/deny"}],
        "custom": {"kind": "readiness", "guide_id": guide.id, "need": need},
    }


def checklist_message(guide: Guide, missing: list[str], guides: dict[str, Guide]) -> dict[str, Any]:
    """What to do first when a precondition is missing, and the walkthrough that fixes it."""
    lines = [say("walkthrough.checklist", title=guide.short_title)]
    buttons = []
    for i, need in enumerate(missing, 1):
        fix_id, what = flow.PRECONDITION_FIX[need]
        lines.append(f"{i}. {what}.")
        if fix_id in guides and fix_id != guide.id:
            buttons.append(start_button(guides[fix_id], say("button.guide_for", title=guides[fix_id].short_title)[:40]))
    lines.append(say("walkthrough.checklist_end"))
    buttons.append({"title": say("button.force_steps"), "payload": f'/start_walkthrough{{"topic": "{guide.id}", "mode": "force"}}'})
    return {"text": "\n".join(lines), "buttons": buttons,
            "custom": {"kind": "readiness", "guide_id": guide.id, "missing": missing}}


def answers_from(tracker: Tracker) -> dict[str, bool | None]:
    """Readiness answers remembered in slots."""
    return {need: tracker.get_slot(slot) for need, slot in READINESS_SLOTS.items()}


def announce(dispatcher: CollectingDispatcher, tracker: Tracker, message: dict[str, Any]) -> None:
    """Send a walkthrough message and record the event it announces: the one place walkthrough events are logged."""
    send(dispatcher, message)
    services.log_walkthrough(tracker, message["custom"])


def begin(dispatcher: CollectingDispatcher, tracker: Tracker, guide: Guide, answers: dict[str, bool | None],
          force: bool, previous: flow.WalkState | None, guides: dict[str, Guide]) -> list[EventType]:
    """Readiness questions first; then the checklist or step 1."""
    now = time.time()
    events: list[EventType] = []
    if previous is not None and previous.guide_id != guide.id:
        # the old walkthrough ends here, once: its slots are cleared before any readiness question is asked
        old = guides.get(previous.guide_id)
        name = old.short_title if old else previous.guide_id
        announce(dispatcher, tracker, {
            "text": say("walkthrough.abandoned", title=name, step=previous.step, total=previous.total),
            "custom": event_payload(previous, "abandoned", now)})
        events += state_events(None)
    if not force:
        unanswered = flow.missing_answers(guide, answers)
        if unanswered:
            send(dispatcher, readiness_question(unanswered[0], guide))
            return events + [SlotSet("wt_pending", unanswered[0]), SlotSet("wt_pending_guide", guide.id)]
        missing = flow.missing_preconditions(guide, answers)
        if missing:
            send(dispatcher, checklist_message(guide, missing, guides))
            return events + [SlotSet("wt_pending", None), SlotSet("wt_pending_guide", None)]
    state = flow.start(guide, now)
    announce(dispatcher, tracker, step_message(guide, state, "started", now))
    return events + [SlotSet("wt_pending", None), SlotSet("wt_pending_guide", None), *state_events(state)]


class ActionStartWalkthrough(Action):
    """Start the walkthrough of the guide the resident asked for (or ask which one)."""

    def name(self) -> str:
        return "action_start_walkthrough"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        index = get_index()
        latest = tracker.latest_message or {}
        entities = {e.get("entity"): e.get("value") for e in latest.get("entities", [])}
        guide = index.guides.get(str(entities.get("topic") or ""))
        text = resident_text(tracker)
        if guide is None:
            # "hướng dẫn từng bước" right after an answer walks through the guide that answer came from
            guide = index.guides.get(follow_up_guide(tracker, text, needs_cue=False) or "") or self._guess(
                text, latest, index)
        if guide is None or not guide.steps:
            # "làm thủ tục gì" about a procedure no guide walks through: the catalogue may name it
            choice = procedures.find(text, rules=get_settings().procedures)
            if choice is not None and procedures.overrides_clarify(choice, get_settings().procedures):
                covering = procedures.covering_guide(choice.records[0].code, index.guides)
                if choice.kind == "answer" and covering is not None and covering.steps:
                    return begin(dispatcher, tracker, covering, answers_from(tracker), False, state_from(tracker), index.guides)
                procedures.reply(dispatcher, tracker, choice, index.guides)
                return []
            offered = last_bot_custom(tracker)
            if offered.get("kind") == "clarify" and short_follow_up(text, needs_cue=False):
                # right after "which of these?", a short "hướng dẫn từng bước" is about the guides just offered
                candidates = [index.guides[g] for g in offered.get("candidates") or [] if g in index.guides]
            else:
                candidates = []
            candidates = [g for g in candidates or self._candidates(text, latest, index) if g.steps]
            if candidates:
                dispatcher.utter_message(
                    text=say("walkthrough.which"),
                    buttons=[start_button(g) for g in candidates[:3]] + [replies.HUMAN_BUTTON],
                    json_message={"kind": "clarify", "candidates": [g.id for g in candidates[:3]], "for": "walkthrough"},
                )
                services.log_reply(tracker, "clarify", candidates=[g.id for g in candidates[:3]])
            else:
                send(dispatcher, replies.menu_message(index.guides))
            return []
        return begin(dispatcher, tracker, guide, answers_from(tracker), entities.get("mode") == "force", state_from(tracker),
                     index.guides)

    def _guess(self, text: str, latest: dict[str, Any], index: Any) -> Guide | None:
        """The guide to walk through: the one an answer would come from, or the one every signal ranks first
        (starting a walkthrough shows its title at once, so a miss costs the resident one "menu")."""
        settings = get_settings()
        sig = signals(text, topic_ranking(latest), index)
        decision = route(sig, settings.answer_threshold, settings.clarify_margin, settings.fusion)
        chosen = decision.guide_id if decision.kind == "answer" else unanimous(sig, settings.fusion)
        return index.guides.get(chosen) if chosen else None

    def _candidates(self, text: str, latest: dict[str, Any], index: Any) -> list[Guide]:
        decision = decide(text, topic_ranking(latest), index, 1.1, 1.0, get_settings().fusion)
        return [index.guides[g] for g in decision.candidates if g in index.guides]


_YES = re.compile(r"^(da |vang |u |uh )?(co|roi|da|vang|u|ok|duoc|dung|phai)\b")
_NO = re.compile(r"^(da |vang )?(chua|khong|ko|k|chang|het)\b")


def readiness_answer(tracker: Tracker) -> bool | None:
    """Yes or no to the readiness question, from the intent or, with extra words, from how the message starts
    ("có rồi, con tôi làm cho rồi" is a yes, whatever else the classifier heard in it)."""
    intent = intent_of(tracker)
    if intent in ("affirm", "deny"):
        return intent == "affirm"
    norm = normalise(resident_text(tracker))
    if _NO.match(norm):
        return False
    if _YES.match(norm):
        return True
    return None


class ActionYesNo(Action):
    """A yes/no answer: to a readiness question when one is pending, otherwise a short acknowledgement."""

    def name(self) -> str:
        return "action_yes_no"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        need, guide_id = tracker.get_slot("wt_pending"), tracker.get_slot("wt_pending_guide")
        index = get_index()
        guide = index.guides.get(str(guide_id or ""))
        if not need or guide is None or need not in READINESS_SLOTS:
            dispatcher.utter_message(response="utter_ack")
            return []
        yes = bool(readiness_answer(tracker))
        answers = {**answers_from(tracker), need: yes}
        events: list[EventType] = [SlotSet(READINESS_SLOTS[need], yes)]
        return events + begin(dispatcher, tracker, guide, answers, False, state_from(tracker), index.guides)


class ActionWalkthroughNav(Action):
    """Tiếp / Quay lại / Nhắc lại / Tôi bị kẹt / Xong rồi / Làm lại từ đầu inside a walkthrough."""

    def name(self) -> str:
        return "action_walkthrough_nav"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        index = get_index()
        state = state_from(tracker)
        guide = index.guides.get(state.guide_id) if state else None
        intent = intent_of(tracker)
        if state is None or guide is None or len(guide.steps) != state.total:
            text = resident_text(tracker)
            if not text.startswith("/") and (len(normalise(text).split()) > 3 or part_shapes(text)):
                # a question the classifier took for "tiếp"/"quay lại" ("làm ở đâu" asks where to go): answer it, do
                # not talk about walkthroughs
                return [*(ActionAnswer().run(dispatcher, tracker, domain) or []),
                        *(state_events(None) if state else [])]
            send(dispatcher, replies.menu_message(
                index.guides, say("walkthrough.not_started")))
            return state_events(None) if state else []
        now = time.time()
        if intent in ("nav_next", "nav_done") and tracker.get_slot("wt_resume"):
            intent = "nav_repeat"  # "tiếp tục" after a resume offer shows the step they were on
        if intent in ("nav_next", "nav_done"):
            state = flow.forward(state, now)
            if state.finished:
                finished = finish_message(guide, state, now, index.guides)
                announce(dispatcher, tracker, finished)
                # the one satisfaction question, right after the walkthrough it rates (never twice in a row:
                # it is asked only here, once per finished walkthrough)
                context = {k: finished["custom"][k] for k in ("guide_id", "duration_s", "stuck_steps", "total")}
                asked = ask_rating(dispatcher, context, "walkthrough")
                return [*state_events(state), SlotSet("last_walkthrough", {**context, "finished": True}), *asked]
            announce(dispatcher, tracker, step_message(guide, state, "step", now))
        elif intent == "nav_back":
            at_first = state.step == 1
            state = flow.back(state)
            message = step_message(guide, state, "step", now)
            if at_first:
                message["text"] = say("walkthrough.first_step") + "\n\n" + message["text"]
            announce(dispatcher, tracker, message)
        elif intent == "nav_stuck":
            state = flow.mark_stuck(state)
            announce(dispatcher, tracker, stuck_message(guide, state, index.guides, now))
        elif intent == "nav_restart":
            state = flow.restart(state, now)
            announce(dispatcher, tracker, step_message(guide, state, "started", now))
        else:  # nav_repeat and anything else
            announce(dispatcher, tracker, step_message(guide, state, "step", now))
        return state_events(state)


class ActionMenu(Action):
    """The menu; during a walkthrough it also offers to continue where the resident was."""

    def name(self) -> str:
        return "action_menu"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = resident_text(tracker)
        if not text.startswith("/") and follows_up(tracker, text):
            # "các bước thế nào" right after an answer asks for that guide's steps, not for the list of topics
            return ActionAnswer().run(dispatcher, tracker, domain)
        index = get_index()
        message = replies.menu_message(index.guides)
        state = state_from(tracker)
        if state is not None:
            message["buttons"] = [{"title": say("button.resume_at", step=state.step, total=state.total),
                                   "payload": "/nav_repeat"},
                                  *message["buttons"]]
        send(dispatcher, message)
        return []


class ActionSessionStart(Action):
    """A new session keeps the slots; a resident with an unfinished walkthrough is offered to resume it."""

    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = [SlotSet(k, v) for k, v in tracker.slots.items()
                   if v is not None and k != "session_started_metadata"]
        events += carried
        state = state_from(tracker)
        guide = get_index().guides.get(state.guide_id) if state else None
        if state is not None and guide is not None:
            dispatcher.utter_message(
                text=say("walkthrough.welcome_back", title=guide.short_title, step=state.step, total=state.total),
                buttons=[{"title": say("button.resume", step=state.step), "payload": "/nav_repeat"},
                         {"title": say("button.restart"), "payload": "/nav_restart"}, replies.MENU_BUTTON],
                json_message={"kind": "walkthrough", "event": "resume_offered", "guide_id": state.guide_id,
                              "step": state.step, "total": state.total},
            )
            events.append(SlotSet("wt_resume", True))
        events.append(ActionExecuted("action_listen"))
        return events
