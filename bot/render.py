"""Channel-neutral replies from Rasa, and how they are cut and numbered for channels with limits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from common.messages import say

BUSY_TEXT = say("gateway.busy")
NON_TEXT_TEXT = say("gateway.text_only")


@dataclass(frozen=True)
class Button:
    """One choice: the label the resident sees and the payload sent back to Rasa."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One bot message: text, optional buttons, and the `custom` metadata our REST channel adds."""

    text: str
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)
    reply_to: str = ""  # the resident message this answers (its message id), so a client can drop a repeat

    @classmethod
    def from_rasa(cls, obj: dict[str, Any], reply_to: str = "") -> Reply:
        """Build from one object of the REST webhook's answer (buttons without a payload are dropped)."""
        buttons = tuple(
            Button(str(b.get("title", "")).strip(), str(b.get("payload", "")))
            for b in obj.get("buttons") or []
            if isinstance(b, dict) and b.get("payload") and str(b.get("title", "")).strip()
        )
        raw = obj.get("custom")
        custom: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        return cls(text=str(obj.get("text") or ""), buttons=buttons, custom=custom, reply_to=reply_to)

    @property
    def kind(self) -> str:
        return str(self.custom.get("kind", ""))


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into parts under `limit` characters, at sentence or line ends where possible."""
    if limit < 20:
        raise ValueError("limit too small")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current, separator = "", ""
    for sentence, ends_line in _sentences(text):
        for chunk in _hard_cut(sentence, limit):
            if current and len(current) + len(separator) + len(chunk) <= limit:
                current += separator + chunk
            else:
                if current:
                    parts.append(current)
                current = chunk
            separator = " "
        separator = "\n" if ends_line else " "
    if current:
        parts.append(current)
    return parts


def _sentences(text: str) -> list[tuple[str, bool]]:
    """Sentences with whether each ends its line (so line breaks survive inside a part)."""
    out: list[tuple[str, bool]] = []
    for line in text.split("\n"):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?…])\s+", line.strip()) if s.strip()]
        out.extend((s, i == len(sentences) - 1) for i, s in enumerate(sentences))
    return out


def _hard_cut(piece: str, limit: int) -> list[str]:
    """A single sentence longer than the limit is cut between words (or anywhere, for a very long word)."""
    if len(piece) <= limit:
        return [piece]
    chunks, current = [], ""
    for word in piece.split(" "):
        while len(word) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return chunks


def numbered_choices(buttons: tuple[Button, ...]) -> str:
    """Choices as a numbered list for channels without buttons (Zalo Bot): the resident answers "1", "2"…"""
    lines = [f"{i}. {b.title}" for i, b in enumerate(buttons, 1)]
    return say("gateway.numbered", choices="\n".join(lines))


def pick_number(text: str, count: int) -> int | None:
    """The 1-based choice in a reply like "2", " 2. ", "số 2" — None when the text is not a choice."""
    match = re.fullmatch(r"\s*(?:s[oố]\s*)?(\d{1,2})\s*[.)]?\s*", text.lower())
    if not match:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= count else None
