"""Finding procedures by what residents type: BM25 over names, everyday aliases and fields.

Lexical on purpose: the Telegram gateway (`/tt`) and the dashboard search the same catalogue without loading a
model. The action server fuses this with the guides (`actions/procedures.py`).
"""

from __future__ import annotations

import heapq
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.lexical import BM25, STOPWORDS
from common.text import fold, tokens
from procedures.records import CATALOGUE_FILE, Procedure, read_catalogue

ALIASES_FILE = CATALOGUE_FILE.parent / "aliases.yml"
# Question words say what is asked, not which procedure: they must not pull toward names that happen to hold them.
QUESTION_WORDS = re.compile(
    r"\b(bao nhieu tien|bao nhieu|bao lau|mat bao lau|may ngay|o dau|cho nao|nhu the nao|the nao|ra sao|lam sao|"
    r"can giay to gi|can nhung gi|giay to gi|can gi|nop o dau|le phi|phi|thu tuc|lam thu tuc|xin hoi|cho hoi|"
    r"hoi|a|nhe|vay|khong|duoc|gi)\b"
)


def display_name(record: Procedure) -> str:
    """The name residents read: without the leading "Thủ tục" and with its first letter capitalised."""
    name = re.sub(r"^thủ tục\s+", "", record.name.strip(), flags=re.IGNORECASE)
    return name[:1].upper() + name[1:]


def load_aliases(path: Path = ALIASES_FILE) -> dict[str, list[str]]:
    """Procedure code → everyday phrases (knowledge/procedures/aliases.yml); empty when the file is absent."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(code): [str(p) for p in phrases or []] for code, phrases in data.items()}


def query_terms(text: str) -> str:
    """The query without the words that only say what kind of answer is wanted."""
    return QUESTION_WORDS.sub(" ", fold(text))


def words(text: str) -> frozenset[str]:
    """Folded content words (no stopwords, no question words)."""
    return frozenset(t for t in tokens(query_terms(text)) if t not in STOPWORDS)


@dataclass(frozen=True)
class ProcedureHit:
    """A procedure ranked for a query.

    `score` is BM25 scaled by how much of the procedure's name (or of one of its everyday aliases) the query
    holds: "đăng ký lại khai sinh" then ranks "Đăng ký lại khai sinh" above the longer variants that contain it.
    `strength` is that coverage (0–1), the confidence a caller can threshold.
    """

    record: Procedure
    score: float
    strength: float


class ProcedureIndex:
    """The catalogue in memory with its BM25 index."""

    def __init__(self, records: list[Procedure], aliases: dict[str, list[str]] | None = None) -> None:
        self.records = records
        self.by_code = {r.code: r for r in records}
        self.aliases = aliases or {}
        self.bm25 = BM25([self._document(r) for r in records])
        self.phrases = [[words(p) for p in (display_name(r), *self.aliases.get(r.code, []))] for r in records]

    def _document(self, record: Procedure) -> str:
        name = display_name(record)
        return " . ".join([name, name, *self.aliases.get(record.code, []), record.field])

    @classmethod
    def load(cls, path: Path = CATALOGUE_FILE, aliases: Path = ALIASES_FILE) -> ProcedureIndex:
        """Read the committed catalogue and aliases."""
        return cls(list(read_catalogue(path)), load_aliases(aliases))

    def coverage(self, position: int, query_words: frozenset[str]) -> float:
        """The largest share of one of the record's phrases (name or alias) that the query holds."""
        return max((len(p & query_words) / len(p) for p in self.phrases[position] if p), default=0.0)

    def search(self, query: str, top: int = 5) -> list[ProcedureHit]:
        """The best-matching procedures, best first (commune-level ones first on equal scores)."""
        terms = query_terms(query)
        bm25 = self.bm25.scores(terms)
        if not bm25:
            return []
        query_words = words(query)
        hits: list[ProcedureHit] = []
        kept: list[float] = []  # the `top` best scores so far (a min-heap)
        # A record's score is its BM25 score times 0.5–1.0, so BM25 is an upper bound: once the next record's BM25 is
        # below the `top`-th best score, no later record can enter the top (the same list as scoring them all).
        for i, score in sorted(bm25.items(), key=lambda item: -item[1]):
            if len(kept) >= top > 0 and score < kept[0]:
                break
            cover = self.coverage(i, query_words)
            name = self.phrases[i][0]
            name_cover = len(name & query_words) / len(name) if name else 0.0  # breaks ties toward the plain name
            hit = ProcedureHit(self.records[i], score * (0.5 + 0.4 * cover + 0.1 * name_cover), cover)
            hits.append(hit)
            if len(kept) < top:
                heapq.heappush(kept, hit.score)
            elif hit.score > kept[0]:
                heapq.heapreplace(kept, hit.score)
        hits.sort(key=lambda h: (-h.score, not h.record.commune_level, h.record.code))
        return hits[:top]


_lock = threading.Lock()
_index: ProcedureIndex | None = None


def get_procedure_index() -> ProcedureIndex:
    """The process's catalogue index, built on first use (about a second)."""
    global _index
    with _lock:
        if _index is None:
            _index = ProcedureIndex.load()
        return _index
