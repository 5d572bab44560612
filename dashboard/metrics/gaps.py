"""Knowledge gaps: unanswered questions (clarify, no guide, out of scope) grouped by shared content words."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from common.text import has_diacritics, normalise
from dashboard.metrics.records import Entry

# Folded function words that say nothing about the topic of a question.
STOPWORDS = frozenset(
    "a ah ak a2 ad anh ban bi cac cach can cho chi co con cua da de duoc dau em gi giup ha hay hoi khi khong la lam "
    "len luc ma minh muon nao nay nhe nhu nhung o oi phai ra roi sao the thi toi tu va vay ve voi vs xin".split())


def question_terms(question: str) -> frozenset[str]:
    """The content words of a question: folded, abbreviations expanded, function words left out."""
    return frozenset(t for t in normalise(question).split() if t not in STOPWORDS and len(t) > 1)


def _similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


@dataclass
class GapGroup:
    """Questions about the same thing that the assistant could not answer directly."""

    example: str
    terms: frozenset[str]
    count: int = 0
    clarify: int = 0
    out_of_scope: int = 0
    candidates: Counter[str] = field(default_factory=Counter)
    questions: Counter[str] = field(default_factory=Counter)
    last_at: float = 0.0

    @property
    def top_candidates(self) -> list[str]:
        """The guides the assistant found closest, most often first."""
        return [g for g, _ in self.candidates.most_common(3)]


def knowledge_gaps(entries: Iterable[Entry], threshold: float = 0.5) -> list[GapGroup]:
    """Group clarify / no-guide / out-of-scope questions by shared content words (Jaccard ≥ threshold); biggest first.

    A "no guide yet" reply is counted with out-of-scope: both are questions no guide answered.
    """
    asked: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        question = entry.get("question").strip()
        if entry.get("kind") in ("clarify", "out_of_scope", "no_guide") and question:
            asked[question].append(entry)
    groups: list[GapGroup] = []
    # the most frequent wording opens a group and becomes its example (with diacritics preferred: easier to read)
    for question, items in sorted(asked.items(), key=lambda kv: (-len(kv[1]), not has_diacritics(kv[0]), kv[0])):
        terms = question_terms(question)
        group = next((g for g in groups if _similar(terms, g.terms, threshold)), None)
        if group is None:
            group = GapGroup(question, terms)
            groups.append(group)
        group.questions[question] += len(items)
        for entry in items:
            group.count += 1
            if entry.get("kind") == "clarify":
                group.clarify += 1
            else:
                group.out_of_scope += 1
            try:
                candidates = json.loads(entry.get("candidates") or "[]")
            except ValueError:
                candidates = []
            group.candidates.update(str(c) for c in candidates if isinstance(c, str))
            group.last_at = max(group.last_at, entry.at)
    return sorted(groups, key=lambda g: (-g.count, -g.last_at))
