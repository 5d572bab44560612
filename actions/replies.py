"""Resident-facing replies: wording, buttons and the machine-readable metadata each reply carries."""

from __future__ import annotations

from typing import Any

from actions.guides import Guide, Section
from actions.text import truncate

# Zalo allows 2,000 characters a message; keep answers well under it so they read on a phone.
MAX_ANSWER_CHARS = 900
HUMAN_BUTTON = {"title": "Gặp người hỗ trợ", "payload": "/request_human"}
MENU_BUTTON = {"title": "Chủ đề khác", "payload": "/nav_menu"}

MENU_TOPICS = (
    "vneid-register-level2", "vneid-activate", "vneid-troubleshoot", "dvc-login", "dvc-submit", "payment-online",
    "e-signature", "birth-registration", "residence-registration", "judicial-record", "support-contacts",
)


def topic_button(guide: Guide) -> dict[str, str]:
    """A button that opens a guide."""
    return {"title": truncate(guide.short_title, 40), "payload": f'/choose_topic{{"topic": "{guide.id}"}}'}


def date_vi(guide: Guide) -> str:
    """Review date in Vietnamese order (22/11/2026)."""
    return guide.reviewed.strftime("%d/%m/%Y")


def answer_message(guide: Guide, section: Section | None, confidence: float | None = None) -> dict[str, Any]:
    """The answer to a question from one guide: short text, source line, buttons, metadata."""
    parts = [f"📘 {guide.title}", guide.summary]
    if section is not None and section.heading not in ("Tóm tắt", ""):
        body = section.body.replace("### ", "").strip()
        parts.append(f"👉 {section.heading}:\n{body}")
    footer = f"Nguồn: {guide.source_url} (cập nhật {date_vi(guide)})"
    text = truncate("\n\n".join(parts), MAX_ANSWER_CHARS - len(footer) - 2) + "\n\n" + footer
    buttons = []
    if guide.steps:
        buttons.append({"title": "Hướng dẫn từng bước", "payload": f'/start_walkthrough{{"topic": "{guide.id}"}}'})
    buttons += [MENU_BUTTON, HUMAN_BUTTON]
    custom: dict[str, Any] = {
        "kind": "answer",
        "guide_id": guide.id,
        "section": section.heading if section else "Tóm tắt",
        "source_url": guide.source_url,
        "reviewed": guide.reviewed.isoformat(),
        "title": guide.title,
    }
    if confidence is not None:
        custom["confidence"] = round(confidence, 3)
    return {"text": text, "buttons": buttons, "custom": custom}


def steps_message(guide: Guide) -> dict[str, Any]:
    """The list of steps of a guide (until the step-by-step walkthrough takes over)."""
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(guide.steps, 1))
    footer = f"Nguồn: {guide.source_url} (cập nhật {date_vi(guide)})"
    text = truncate(f"📘 {guide.title} — các bước:\n{steps}", MAX_ANSWER_CHARS * 2 - len(footer) - 2) + "\n\n" + footer
    return {
        "text": text,
        "buttons": [MENU_BUTTON, HUMAN_BUTTON],
        "custom": {"kind": "answer", "guide_id": guide.id, "section": "Các bước", "source_url": guide.source_url,
                   "reviewed": guide.reviewed.isoformat(), "title": guide.title},
    }


def clarify_message(candidates: list[Guide]) -> dict[str, Any]:
    """Ask which of two or three topics the resident means."""
    return {
        "text": "Mình chưa chắc bạn hỏi về việc nào. Bạn chọn giúp mình một mục dưới đây, hoặc hỏi lại rõ hơn nhé:",
        "buttons": [topic_button(g) for g in candidates] + [HUMAN_BUTTON],
        "custom": {"kind": "clarify", "candidates": [g.id for g in candidates]},
    }


def menu_message(guides: dict[str, Guide], text: str | None = None) -> dict[str, Any]:
    """The topics the assistant can help with."""
    shown = [guides[t] for t in MENU_TOPICS if t in guides]
    return {
        "text": text or "Mình có thể hướng dẫn bạn các việc sau. Bạn chọn một mục, hoặc gõ câu hỏi của bạn:",
        "buttons": [topic_button(g) for g in shown] + [HUMAN_BUTTON],
        "custom": {"kind": "menu", "topics": [g.id for g in shown]},
    }
