"""Answering from the national procedure catalogue where no hand-written guide answers.

A guide wins where one exists (`actions/knowledge.py` asks here only when it would otherwise clarify, say there is
no guide, or call the question out of scope). A procedure the search ranks clearly first gets its card, opened at
the part the question asks for; procedures residents confuse get a question with one button each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import analytics
from actions.communes import get_commune
from actions.guides import Guide
from actions.retrieval.calibration import ProcedureRules
from actions.retrieval.index import get_index
from actions.retrieval.sections import cues_of
from actions.tracking import send
from procedures.cards import PARTS, Place, card_message, variants_message
from procedures.records import Procedure
from procedures.search import ProcedureHit, ProcedureIndex, get_procedure_index

logger = logging.getLogger(__name__)

# The part of a card a question's shape asks for, in priority order (fee/time questions are the most specific).
CUE_PART = (("Phí và thời gian", "fee_time"), ("Cần chuẩn bị", "documents"), ("Hỏi ở đâu", "where"),
            ("Các bước", "steps"))


@dataclass(frozen=True)
class ProcedureChoice:
    """One procedure to answer with, or several to choose from; and the part of the card asked for."""

    kind: str  # "answer" or "variants"
    records: tuple[Procedure, ...]
    part: str
    strength: float = 0.0


def part_for(text: str) -> str:
    """The card part a question asks for ("bao nhiêu tiền" → fee_time); "summary" when it asks for none."""
    cues = cues_of(text)
    return next((part for cue, part in CUE_PART if cue in cues), "summary")


def choose(hits: list[ProcedureHit], text: str, rules: ProcedureRules) -> ProcedureChoice | None:
    """Answer, offer variants, or nothing (the caller then clarifies or points to the official channels)."""
    if not hits or hits[0].score < rules.min_score or hits[0].strength < rules.min_strength:
        return None
    top = hits[0]
    close = [h.record for h in hits if h.score >= top.score * rules.variant_ratio]
    part = part_for(text)
    if len(close) > 1:
        return ProcedureChoice("variants", tuple(close[:4]), part, top.strength)
    return ProcedureChoice("answer", (top.record,), part, top.strength)


def overrides_clarify(choice: ProcedureChoice, rules: ProcedureRules) -> bool:
    """The catalogue match is strong enough to answer where the guides would only ask which topic is meant."""
    return choice.strength >= rules.over_clarify


def find(text: str, index: ProcedureIndex | None = None, rules: ProcedureRules | None = None) -> ProcedureChoice | None:
    """Search the catalogue for a question and choose what to do."""
    index = index or get_procedure_index()
    return choose(index.search(text, top=5), text, rules or ProcedureRules())


def place() -> Place:
    """This deployment's commune and its public-service centre."""
    commune = get_commune()
    return Place(commune.centre.name, commune.centre.line(), commune.police.name, commune.police.line())


def covering_guide(code: str, guides: dict[str, Guide]) -> Guide | None:
    """The hand-written guide that answers for a catalogue procedure (front matter `procedures:`), if any."""
    return next((g for g in guides.values() if code in g.procedures), None)


def walkthrough_for(code: str, guides: dict[str, Guide]) -> str | None:
    """The guide whose step-by-step walkthrough files this procedure."""
    guide = covering_guide(code, guides)
    return guide.id if guide is not None and guide.steps else None


def message_for(choice: ProcedureChoice, guides: dict[str, Guide]) -> dict[str, Any]:
    """The reply for a choice: a card, or the question between variants."""
    if choice.kind == "variants":
        return variants_message(list(choice.records), choice.part)
    record = choice.records[0]
    return card_message(record, choice.part, place(), walkthrough_for(record.code, guides))


def reply(dispatcher: CollectingDispatcher, tracker: Tracker, choice: ProcedureChoice, guides: dict[str, Guide],
          decorate: Any = None) -> None:
    """Send a choice's reply (through `decorate`, e.g. the walkthrough's resume button) and record it."""
    message = message_for(choice, guides)
    send(dispatcher, decorate(message) if decorate else message)
    kind = "procedure" if choice.kind == "answer" else "clarify"
    analytics.log_reply(tracker, kind, candidates=[r.code for r in choice.records])


class ActionProcedure(Action):
    """A procedure (or one part of its card) picked from a button."""

    def name(self) -> str:
        return "action_procedure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        entities = {e.get("entity"): e.get("value") for e in (tracker.latest_message or {}).get("entities", [])}
        record = get_procedure_index().by_code.get(str(entities.get("procedure") or ""))
        if record is None:
            dispatcher.utter_message(text="Em không tìm thấy thủ tục đó. Anh/chị gõ tên thủ tục cần làm giúp em nhé.")
            return []
        part = str(entities.get("part") or "summary")
        walkthrough = walkthrough_for(record.code, get_index().guides)
        send(dispatcher, card_message(record, part if part in PARTS else "summary", place(), walkthrough))
        return []
