"""Resident-facing replies: wording, buttons and the machine-readable metadata each reply carries."""

from __future__ import annotations

import json
import math
from typing import Any

from common.communes import Commune
from common.guides import Guide, Section
from common.lexical import analyse
from common.messages import say
from common.text import truncate

# Zalo allows 2,000 characters a message; keep answers well under it so they read on a phone.
MAX_ANSWER_CHARS = 900
LINK_BUDGET = 60  # of an answer's one-screen budget, the source link counts this much at most
HUMAN_BUTTON = {"title": say("button.human"), "payload": "/request_human"}
MENU_BUTTON = {"title": say("button.menu"), "payload": "/nav_menu"}

MENU_TOPICS = (
    "vneid-register-level2", "vneid-activate", "vneid-troubleshoot", "can-cuoc", "dvc-login", "dvc-submit",
    "dvc-track", "payment-online", "payment-troubleshoot", "e-signature", "birth-registration",
    "residence-registration", "judicial-record", "scam-safety", "support-contacts",
)


def topic_button(guide: Guide) -> dict[str, str]:
    """A button that opens a guide."""
    return {"title": truncate(guide.short_title, 40), "payload": f'/choose_topic{{"topic": "{guide.id}"}}'}


def date_vi(guide: Guide) -> str:
    """Review date in Vietnamese order (22/11/2026)."""
    return guide.reviewed.strftime("%d/%m/%Y")


GENERAL_HEADINGS = ("", "Tóm tắt")
# The part a resident most often wants next, after reading one part.
NEXT_PART = {"Cần chuẩn bị": "Phí và thời gian", "Phí và thời gian": "Cần chuẩn bị", "Hỏi ở đâu": "Phí và thời gian",
             "Các bước": "Cần chuẩn bị"}
MAX_BUTTONS = 5  # Zalo shows up to five quick replies; more are numbered


def section_button(guide: Guide, heading: str, title: str | None = None) -> dict[str, str] | None:
    """A button that opens one part of a guide (by its position, so the payload stays short)."""
    position = next((i for i, s in enumerate(guide.sections) if s.heading == heading), None)
    if position is None:
        return None
    payload = json.dumps({"topic": guide.id, "section": str(position)}, ensure_ascii=False)
    return {"title": truncate(title or heading, 40), "payload": f"/choose_topic{payload}"}


def candidate_button(guide: Guide, heading: str) -> dict[str, str]:
    """A guide's button in a clarifying question, opening the part that answers when one was found."""
    button = section_button(guide, heading, guide.short_title) if heading not in GENERAL_HEADINGS else None
    return button or topic_button(guide)


def walkthrough_button(guide: Guide) -> dict[str, str]:
    return {"title": say("button.walkthrough"), "payload": f'/start_walkthrough{{"topic": "{guide.id}"}}'}


def answer_buttons(guide: Guide, heading: str) -> list[dict[str, str]]:
    """Step-by-step help, the steps, the part a resident wants next, another topic, a person."""
    wanted: list[dict[str, str] | None] = []
    if guide.steps:
        wanted.append(walkthrough_button(guide))
    if heading in GENERAL_HEADINGS:
        wanted += [section_button(guide, "Cần chuẩn bị"), section_button(guide, "Phí và thời gian")]
    else:
        if heading != "Các bước" and guide.steps:
            wanted.append(section_button(guide, "Các bước", say("button.see_steps")))
        wanted.append(section_button(guide, NEXT_PART.get(heading, "Hỏi ở đâu")))
    buttons = [b for b in wanted if b][: MAX_BUTTONS - 2]
    return [*buttons, MENU_BUTTON, HUMAN_BUTTON]


def focused(body: str, question: str, limit: int) -> str:
    """A part too long for one screen, cut to its lines that share the most telling words with the question, in the
    guide's order, rather than to its first lines: "khi nào thì đi gia hạn tạm trú" keeps the line about
    extending a stay even when the fee lines before it fill the screen. A word counts by how few of the part's lines
    hold it (a word every line holds tells nothing). A part that fits, or that shares no word with the question, is
    cut as before (`truncate`); lines left out show as one "…" where they were."""
    if len(body) <= limit or not question:
        return truncate(body, limit)
    head, _, rest = body.partition("\n\n")  # the "📘 guide — part" title stays
    lines = [line for line in rest.split("\n") if line.strip()]
    asked = set(analyse(question))
    found = [set(analyse(line)) & asked for line in lines]
    held = {term: sum(term in terms for terms in found) for term in asked}
    weights = [sum(math.log(1 + len(lines) / held[term]) for term in terms) for terms in found]
    kept: set[int] = set()
    for i in sorted(range(len(lines)), key=lambda i: (-weights[i], i)):
        if weights[i] > 0 and len(_lines_shown(head, lines, kept | {i})) <= limit:
            kept.add(i)
    return _lines_shown(head, lines, kept) if kept else truncate(body, limit)


def _lines_shown(head: str, lines: list[str], kept: set[int]) -> str:
    """The title and the kept lines in order, each run of lines left out shown as one "…"."""
    shown: list[str] = []
    for i, line in enumerate(lines):
        if i in kept:
            shown.append(line)
        elif not shown or shown[-1] != "…":
            shown.append("…")
    return head + "\n\n" + "\n".join(shown)


def answer_message(guide: Guide, section: Section | None, confidence: float | None = None,
                   question: str = "") -> dict[str, Any]:
    """The answer from one guide: the part that holds it (the summary for a general question), source, buttons; a part
    too long for one screen keeps the lines that answer `question` (`focused`)."""
    source = guide.source_for(section)
    footer = say("answer.source", url=source, date=date_vi(guide))
    heading = section.heading if section is not None and section.heading not in GENERAL_HEADINGS else ""
    if section is not None and heading == "Các bước":
        steps = "\n".join(f"{i}. {s}" for i, s in enumerate(guide.steps, 1))
        body = say("answer.steps", title=guide.short_title, steps=steps)
        limit = MAX_ANSWER_CHARS * 2
    elif section is not None and heading:
        body = f"📘 {guide.short_title} — {heading}\n\n{section.body.replace('### ', '').strip()}"
        limit = MAX_ANSWER_CHARS
    else:
        body = f"📘 {guide.title}\n\n{guide.summary}"
        limit = MAX_ANSWER_CHARS
    # the page's address counts LINK_BUDGET characters at most: a phone folds a long link, and it is tapped, not read
    text = focused(body, question, limit - len(footer) + max(0, len(source) - LINK_BUDGET) - 2) + "\n\n" + footer
    custom: dict[str, Any] = {
        "kind": "answer",
        "guide_id": guide.id,
        "section": heading or "Tóm tắt",
        "source_url": source,
        "reviewed": guide.reviewed.isoformat(),
        "title": guide.title,
    }
    if confidence is not None:
        custom["confidence"] = round(confidence, 3)
    return {"text": text, "buttons": answer_buttons(guide, heading), "custom": custom}


def steps_message(guide: Guide) -> dict[str, Any]:
    """The list of a guide's steps."""
    return answer_message(guide, guide.section("Các bước"))


def clarify_message(candidates: list[Guide], parts: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask which of two or three topics the resident means (or check the one it might be).

    `parts` maps a guide to the part of it that would answer the question: its button opens that part directly, so
    one tap brings the fee or the fix, not the guide's summary.
    """
    text = say("clarify.one") if len(candidates) == 1 else say("clarify.several")
    return {
        "text": text,
        "buttons": [candidate_button(g, (parts or {}).get(g.id, "")) for g in candidates] + [HUMAN_BUTTON],
        "custom": {"kind": "clarify", "candidates": [g.id for g in candidates]},
    }


def no_guide_message(commune: Commune) -> dict[str, Any]:
    """A public-service question no guide covers yet: say so, and where to ask."""
    hotlines = "\n".join(f"☎️ {name}: {phone}" for name, phone in commune.hotlines)
    text = say("no_guide", centre=commune.centre.line(), hotlines=hotlines)
    return {"text": text, "buttons": [HUMAN_BUTTON, MENU_BUTTON], "custom": {"kind": "no_guide"}}


def sensitive_message(reason: str = "") -> dict[str, Any]:
    """Politics, religion, officials' private details, getting round the law: a polite refusal and what we do.

    Three reasons (common.text.sensitive_request) have a reply of their own: the generic refusal would not tell a
    resident asked for a bribe where to report it, say why someone else's data is off limits, nor why a forged or
    bought paper is no way round a procedure.
    """
    if reason == "bribe":
        text = say("sensitive.bribe")
    elif reason == "snooping":
        text = say("sensitive.others_data")
    elif reason == "forgery":
        text = say("sensitive.forgery")
    else:
        text = say("sensitive")
    custom: dict[str, Any] = {"kind": "sensitive"} | ({"reason": reason} if reason else {})
    return {"text": text, "buttons": [MENU_BUTTON, HUMAN_BUTTON], "custom": custom}


def privacy_message(retention_days: int) -> dict[str, Any]:
    """What the assistant keeps of what a resident writes, and for how long (asked "thông tin có bị lưu lại không")."""
    return {"text": say("privacy", days=retention_days), "buttons": [MENU_BUTTON, HUMAN_BUTTON],
            "custom": {"kind": "smalltalk", "about": "privacy"}}


def menu_message(guides: dict[str, Guide], text: str | None = None) -> dict[str, Any]:
    """The topics the assistant can help with."""
    shown = [guides[t] for t in MENU_TOPICS if t in guides]
    return {
        "text": text or say("menu"),
        "buttons": [topic_button(g) for g in shown] + [HUMAN_BUTTON],
        "custom": {"kind": "menu", "topics": [g.id for g in shown]},
    }
