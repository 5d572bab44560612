"""The blind sets stay blind: no question of theirs is written into the training data, the guides, the code or the
tests (eval/blind/README.md, "Split and rules"). A question counts when it is WORDS words or longer, compared with
diacritics and punctuation removed, so a copied no-diacritics variant is caught too; a conversation's first question
(`before`) counts as well."""

from __future__ import annotations

import json
import re
from pathlib import Path

from common.text import fold

ROOT = Path(__file__).resolve().parents[1]
BLIND = ROOT / "eval" / "blind"
# where a copied question would teach or tune the assistant, or let a test pass for the wrong reason
SEARCHED = ("data", "knowledge", "actions", "common", "rasa_addons", "bot", "procedures", "dashboard", "tools", "tests")
SUFFIXES = {".py", ".yml", ".yaml", ".md", ".json", ".jsonl", ".txt"}
ALLOWED = {Path(__file__).resolve()}  # this test names none, but it is the one file allowed to
WORDS = 8  # shorter questions ("cần chuẩn bị giấy tờ gì", "mấy ngày thì có kết quả") are what anyone would write


def _plain(text: str) -> str:
    """Folded words only: "Có người gọi, xưng công an?" → "co nguoi goi xung cong an"."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


def blind_questions() -> dict[str, str]:
    """Every question of every blind set (variants included) with WORDS words or more: its plain form → "set/id: form"."""
    questions: dict[str, str] = {}
    for path in sorted(BLIND.rglob("questions.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for text in (row.get("text"), row.get("before")):
                plain = _plain(str(text or ""))
                if len(plain.split()) >= WORDS:
                    questions.setdefault(plain, f"{path.parent.name}/{row.get('id')}: {plain}")
    return questions


def by_first_words(questions: dict[str, str]) -> dict[tuple[str, ...], list[str]]:
    """The questions' plain forms grouped by their first six words, the index `copies` looks them up in."""
    index: dict[tuple[str, ...], list[str]] = {}
    for question in questions:
        index.setdefault(tuple(question.split()[:6]), []).append(question)
    return index


def copies(questions: dict[str, str], text: str,
           index: dict[tuple[str, ...], list[str]] | None = None) -> list[str]:
    """The ids of the questions whose plain form occurs in `text` (plain too), found by their first six words."""
    by_start = index if index is not None else by_first_words(questions)
    words = text.split()
    found = []
    for i in range(len(words) - 5):
        for question in by_start.get(tuple(words[i:i + 6]), ()):
            if words[i:i + len(question.split())] == question.split():
                found.append(questions[question])
    return found


def test_the_blind_sets_are_read() -> None:
    questions = blind_questions()
    assert len(questions) > 2500
    assert copies(questions, "ờ " + next(iter(questions)) + " ạ") == [next(iter(questions.values()))]


def test_no_blind_question_is_copied_into_the_project() -> None:
    questions = blind_questions()
    index = by_first_words(questions)  # built once, not per file
    found: list[str] = []
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or path.resolve() in ALLOWED:
                continue
            text = _plain(path.read_text(encoding="utf-8", errors="ignore"))
            found += [f"{path.relative_to(ROOT)}: {q}" for q in copies(questions, text, index)]
    assert found == []
