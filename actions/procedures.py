"""Answering from the national procedure catalogue where no hand-written guide answers.

A guide wins where one exists (`actions/knowledge.py` asks here only when it would otherwise clarify, say there is
no guide, or call the question out of scope). A procedure the search ranks clearly first gets its card, opened at
the part the question asks for; procedures residents confuse get a question with one button each.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.retrieval.calibration import ProcedureRules
from actions.retrieval.index import get_index
from actions.services import get_commune
from actions.tracking import entities_of, send
from common.guides import Guide
from common.messages import say
from common.text import normalise, sounds_like_scam
from procedures.cards import PARTS, Place, card_message, procedure_button, variants_message
from procedures.records import Procedure
from procedures.search import ProcedureHit, ProcedureIndex, display_name, get_procedure_index

logger = logging.getLogger(__name__)

# The part of a card each question shape asks for, on the normalised text (folded, abbreviations expanded).
PART_CUES: dict[str, re.Pattern[str]] = {
    "where": re.compile(r"\b(o dau|cho nao|noi nao|co quan nao|gui ai|bao (cho )?ai|hoi ai|nop (ho so |don )?(o|tai)"
                        r"|(o|tai|len|ra) (uy ban nhan dan|xa|phuong|cong an)\b.{0,30}\b(hay|ha|khong|duoc khong)"
                        r"|phong cong chung)\b"),
    "documents": re.compile(r"\b(giay to gi|giay to nao|ho so gom|ho so can|can (mang|nop|chuan bi|giay|nhung)"
                            r"|mang (theo )?(nhung )?gi|ban (goc|chinh)|nhung giay|can co gi)\b"),
    "fee_time": re.compile(r"\b(bao nhieu tien|het bao nhieu|mat bao nhieu|le phi|phi|mien phi|may tien|tien"
                           r"|bao lau|may ngay|bao nhieu ngay|thoi han|truoc bao nhieu|khi nao (co|nhan|xong))\b"),
    "steps": re.compile(r"\b(lam sao|the nao|ra sao|cach (lam|nao)|cac buoc|tung buoc|thu tuc gi|lam gi)\b"),
}
@dataclass(frozen=True)
class ProcedureChoice:
    """One procedure to answer with, or several to choose from; and the part of the card asked for."""

    kind: str  # "answer" or "variants"
    records: tuple[Procedure, ...]
    part: str
    strength: float = 0.0
    score: float = 0.0


def part_for(text: str) -> str:
    """The card part a question asks for ("bao nhiêu tiền" → fee_time); with several, the one asked first;
    "summary" (which holds where, the main papers, time and fee) when it asks for none."""
    norm = normalise(text)
    found = [(m.start(), part) for part, pattern in PART_CUES.items() if (m := pattern.search(norm))]
    return min(found)[1] if found else "summary"


def choose(hits: list[ProcedureHit], text: str, rules: ProcedureRules) -> ProcedureChoice | None:
    """Answer, offer variants, or nothing (the caller then clarifies or points to the official channels)."""
    if not hits or hits[0].score < rules.min_score or hits[0].strength < rules.min_strength:
        return None
    top = hits[0]
    close = [h.record for h in hits if h.score >= top.score * rules.variant_ratio]
    part = part_for(text)
    if len(close) > 1:
        return ProcedureChoice("variants", tuple(close[:4]), part, top.strength, top.score)
    return ProcedureChoice("answer", (top.record,), part, top.strength, top.score)


def overrides_clarify(choice: ProcedureChoice, rules: ProcedureRules, guides_score: float = 0.0) -> bool:
    """The catalogue match is strong enough, and the guides weak enough, to answer where the guides would ask."""
    return (choice.strength >= rules.over_clarify and choice.score >= rules.over_clarify_score
            and guides_score < rules.guides_weak)


def more_specific_hit(hits: list[ProcedureHit], text: str, guide: Guide, guides: dict[str, Guide],
                      rules: ProcedureRules, index: ProcedureIndex) -> ProcedureChoice | None:
    """A catalogue procedure the question names outright that the chosen guide does not cover (and no guide does).

    "Đăng ký kết hôn với người Nhật" reads like the marriage guide, but names "kết hôn có yếu tố nước ngoài", which
    that guide does not explain: the catalogue's card answers the question asked. Only a sibling of what the guide
    covers (the same field: civil status, residence…), or one the question names outright (`names_outright`: "rút
    bảo hiểm xã hội một lần" asked where the health-insurance guide ranks first): a guide on scams or VNeID errors is
    never overruled by a procedure that merely shares words with the question.
    """
    if not hits or hits[0].strength < 1.0 or hits[0].score < rules.specific_score:
        return None
    if len(hits) > 1 and hits[0].score < rules.specific_ratio * hits[1].score:
        return None
    record = hits[0].record
    if record.code in guide.procedures or covering_guide(record.code, guides) is not None:
        return None
    fields = {index.by_code[c].field for c in guide.procedures if c in index.by_code}
    if record.field not in fields and not names_outright(record, text, index):
        return None
    return ProcedureChoice("answer", (record,), part_for(text), hits[0].strength, hits[0].score)


def names_outright(record: Procedure, text: str, index: ProcedureIndex) -> bool:
    """The question holds the procedure's name or one of its everyday phrases word for word ("chứng thực di chúc",
    "xin trích lục kết hôn"), not just words from it in another order ("đăng ký khai sinh lần nữa")."""
    said = f" {normalise(text)} "
    phrases = (display_name(record), *index.aliases.get(record.code, []))
    return any(f" {normalise(phrase)} " in said for phrase in phrases if normalise(phrase))


def procedure_button_for(choice: ProcedureChoice) -> tuple[dict[str, str], str]:
    """A button opening the choice's procedure at the part asked for, and its code."""
    record = choice.records[0]
    return procedure_button(record, choice.part), record.code


@dataclass(frozen=True)
class Plan:
    """What to answer with once the guides have decided: the guides' own reply, a guide that covers the catalogue's
    match, a catalogue card (or variants), or the guides' clarifying question with the catalogue's match as a button."""

    kind: str  # "guides" (their decision stands), "guide" (answer from `guide_id`), "catalogue", "clarify_plus"
    guide_id: str | None = None
    choice: ProcedureChoice | None = None


def plan(decision_kind: str, guide_id: str | None, confidence: float, has_candidates: bool,
         hits: list[ProcedureHit], text: str, guides: dict[str, Guide], rules: ProcedureRules,
         index: ProcedureIndex) -> Plan:
    """Fuse the guides' decision with the catalogue's search (`hits`, best first). A guide wins where one exists.

    A message doubting a text, call or link about a procedure ("tin nhắn cấp lại sổ đỏ qua đường link có thật
    không") never gets that procedure's card: the guides' own decision stands (common.text.sounds_like_scam).
    """
    if sounds_like_scam(text):
        return Plan("guides") if decision_kind != "answer" or not guide_id else Plan("guide", guide_id)
    if decision_kind == "answer" and guide_id:
        specific = more_specific_hit(hits, text, guides[guide_id], guides, rules, index)
        return Plan("catalogue", choice=specific) if specific else Plan("guide", guide_id)
    if decision_kind not in ("clarify", "no_guide", "out_of_scope"):
        return Plan("guides")
    choice = choose(hits, text, rules)
    if choice is None:
        return Plan("guides")
    covering = covering_guide(choice.records[0].code, guides)
    clarifying = decision_kind == "clarify" and has_candidates
    if clarifying and not overrides_clarify(choice, rules, confidence):
        if choice.kind == "answer" and covering is None:
            return Plan("clarify_plus", choice=choice)
        return Plan("guides")
    if covering is None:
        return Plan("catalogue", choice=choice)
    if choice.kind == "answer" and decision_kind == "no_guide":
        # the classifier saw a public service it has no topic for; a guide covers it: the guide answers
        return Plan("guide", covering.id)
    return Plan("guides")  # the guides' own clarifying question (or refusal) already offers what the guides know


def find(text: str, index: ProcedureIndex | None = None, rules: ProcedureRules | None = None) -> ProcedureChoice | None:
    """Search the catalogue for a question and choose what to do."""
    index = index or get_procedure_index()
    return choose(index.search(text, top=5), text, rules or ProcedureRules())


def place() -> Place:
    """This deployment's commune and its public-service centre."""
    commune = get_commune()
    return Place(commune.centre.name, commune.centre.line(), commune.police.name, commune.police.line(),
                 commune.fees)


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


def part_card(record: Procedure, text: str, guides: dict[str, Guide]) -> dict[str, Any]:
    """The card of a procedure just shown, opened at the part a follow-up asks for ("phí hết bao nhiêu" → fees)."""
    return card_message(record, part_for(text), place(), walkthrough_for(record.code, guides))


def reply(dispatcher: CollectingDispatcher, tracker: Tracker, choice: ProcedureChoice, guides: dict[str, Guide],
          decorate: Any = None) -> None:
    """Send a choice's reply (through `decorate`, e.g. the walkthrough's resume button) and record it."""
    message = message_for(choice, guides)
    send(dispatcher, decorate(message) if decorate else message)
    kind = "procedure" if choice.kind == "answer" else "clarify"
    services.log_reply(tracker, kind, candidates=[r.code for r in choice.records])


class ActionProcedure(Action):
    """A procedure (or one part of its card) picked from a button."""

    def name(self) -> str:
        return "action_procedure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        entities = entities_of(tracker)
        record = get_procedure_index().by_code.get(str(entities.get("procedure") or ""))
        if record is None:
            dispatcher.utter_message(text=say("procedure.not_found"))
            return []
        part = str(entities.get("part") or "summary")
        walkthrough = walkthrough_for(record.code, get_index().guides)
        send(dispatcher, card_message(record, part if part in PARTS else "summary", place(), walkthrough))
        return []
