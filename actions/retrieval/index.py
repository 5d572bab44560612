"""The retrieval index: guide passages, BM25, and cached dense vectors; hybrid search with rank fusion."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actions.retrieval.dense import Encoder
from common.guides import Guide, load_guides
from common.lexical import BM25, Scored
from common.nlu import nlu_examples
from common.text import has_diacritics

logger = logging.getLogger(__name__)

RRF_K = 20
# Dense embeddings are unreliable on text typed without diacritics; halve their vote there.
DENSE_WEIGHT_ACCENTED = 1.0
DENSE_WEIGHT_UNACCENTED = 0.5


@dataclass(frozen=True)
class Passage:
    """A unit of retrieval: what it says, and which guide and section it answers from."""

    guide_id: str
    section: str  # section heading ("" for the guide's own description and example questions)
    kind: str  # "about", "question" (the topic's examples), "part" (a part's examples) or "section"
    text: str


@dataclass(frozen=True)
class GuideHit:
    """A guide ranked for a query, with the section that matched best."""

    guide_id: str
    score: float
    section: str
    lexical_rank: int | None
    dense_rank: int | None


def training_examples(nlu_dir: Path | None) -> dict[str, list[str]]:
    """Guide id → the classifier's training examples for its topic intent (data/nlu), searchable like questions."""
    out: dict[str, list[str]] = {}
    for intent, example in nlu_examples(nlu_dir):
        if intent.startswith("ask_"):
            out.setdefault(intent[4:].replace("_", "-"), []).append(example)
    return out


def passages_of(guide: Guide, examples: Iterable[str] = ()) -> list[Passage]:
    """Everything searchable in one guide (and the training examples of its intent, when given)."""
    about = " . ".join([guide.title, guide.summary, *guide.aliases])
    out = [Passage(guide.id, "", "about", about)]
    out += [Passage(guide.id, "", "question", q) for q in (*guide.questions, *examples)]
    out += [Passage(guide.id, heading, "part", q) for heading, qs in guide.part_questions.items() for q in qs]
    for section in guide.sections:
        if section.heading == "Lỗi thường gặp" and not section.parent:
            continue  # its problems are indexed one by one
        out.append(Passage(guide.id, section.heading, "section", f"{guide.title}. {section.heading}. {section.body}"))
    return out


def _ranks(scores: np.ndarray | Scored, passages: list[Passage], limit: int = 50) -> dict[str, tuple[int, str]]:
    """Guide → (rank, best section) from passage scores, best passage per guide."""
    if isinstance(scores, Scored):
        order: Iterable[int] = scores.ranked().tolist()
    else:
        order = np.argsort(-scores)[:limit].tolist()
    ranked: dict[str, tuple[int, str]] = {}
    for idx in order:
        p = passages[idx]
        if p.guide_id not in ranked:
            ranked[p.guide_id] = (len(ranked) + 1, p.section)
        if len(ranked) >= 10:
            break
    return ranked


class HybridIndex:
    """BM25 + dense index over the guides, with the dense vectors cached on disk."""

    def __init__(self, guides: dict[str, Guide], passages: list[Passage], vectors: np.ndarray | None,
                 encoder: Encoder | None, cache_dir: Path | None = None, key: str | None = None) -> None:
        self.guides = guides
        # where what is learned from these passages is stored, and the key naming this index's passages and encoder
        self.cache_dir = cache_dir
        self.cache_key = key if key is not None else cache_key(passages, encoder)
        self.passages = passages
        self.vectors = vectors
        self.encoder = encoder
        self.bm25 = BM25([p.text for p in passages])
        self.by_guide: dict[str, list[int]] = {}
        for i, p in enumerate(passages):
            self.by_guide.setdefault(p.guide_id, []).append(i)
        # each passage's guide as a number, and the passages grouped by guide: a guide's best score is one numpy
        # reduction over all passages, not a Python loop per passage or per guide
        self._guide_ids = list(self.by_guide)
        number = {gid: n for n, gid in enumerate(self._guide_ids)}
        self._guide_of = np.array([number[p.guide_id] for p in passages], dtype=np.int64)
        self._by_guide_order = np.array([i for ids in self.by_guide.values() for i in ids], dtype=np.int64)
        self._guide_starts = np.cumsum([0] + [len(ids) for ids in self.by_guide.values()][:-1]).astype(np.int64)
        self._recent: dict[tuple[str, str], Any] = {}
        self._recent_lock = threading.Lock()
        # models learned from these passages, built on first use (actions.retrieval.sections.part_model)
        self.derived: dict[str, Any] = {}
        self.derived_lock = threading.Lock()

    def _remember(self, kind: str, query: str, compute: Callable[[], Any]) -> Any:
        """A query's scores or vector, kept for the last few queries: one turn ranks the guides, then the parts of
        the chosen guide (or of each clarifying candidate), all from the same text."""
        key = (kind, query)
        with self._recent_lock:
            if key in self._recent:
                return self._recent[key]
        value = compute()
        with self._recent_lock:
            if len(self._recent) >= 128:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = value
        return value

    def query_vector(self, query: str) -> np.ndarray | None:
        """The query's dense vector (encoded once per query)."""
        if self.encoder is None or self.vectors is None:
            return None
        encoder = self.encoder
        return self._remember("dense", query, lambda: encoder.encode([query], "query")[0])

    def lexical_scores(self, query: str) -> Scored:
        """BM25 score of every passage sharing a term with the query (computed once per query)."""
        return self._remember("bm25", query, lambda: self.bm25.scored(query))

    @classmethod
    def build(cls, knowledge_dir: Path, cache_dir: Path, encoder: Encoder | None, progress: bool = False,
              nlu_dir: Path | None = None) -> HybridIndex:
        """Load the index from cache, or build it (dense vectors with a progress bar) when knowledge/ changed."""
        guides = load_guides(knowledge_dir)
        examples = training_examples(nlu_dir)
        passages = [p for g in guides.values() for p in passages_of(g, examples.get(g.id, ()))]
        key = cache_key(passages, encoder)  # hashed once: names the vectors and the part models learned with them
        vectors = None
        if encoder is not None:
            vectors = _cached_vectors(cache_dir, encoder, passages, progress, key)
        return cls(guides, passages, vectors, encoder, cache_dir, key)

    def search(self, query: str, top: int = 5, use_dense: bool = True) -> list[GuideHit]:
        """Guides ranked by reciprocal-rank fusion of BM25 and dense passage rankings (BM25 alone if asked)."""
        lexical = _ranks(self.lexical_scores(query), self.passages)
        dense: dict[str, tuple[int, str]] = {}
        q = self.query_vector(query) if use_dense else None
        if q is not None and self.vectors is not None:
            dense = _ranks(self.vectors @ q, self.passages)
        weight = DENSE_WEIGHT_ACCENTED if has_diacritics(query) else DENSE_WEIGHT_UNACCENTED
        fused: dict[str, float] = {}
        for gid, (rank, _) in lexical.items():
            fused[gid] = fused.get(gid, 0.0) + 1.0 / (RRF_K + rank)
        for gid, (rank, _) in dense.items():
            fused[gid] = fused.get(gid, 0.0) + weight / (RRF_K + rank)
        hits = []
        for gid in sorted(fused, key=fused.__getitem__, reverse=True)[:top]:
            lex, den = lexical.get(gid), dense.get(gid)
            section = (lex or den or (0, ""))[1] or ((den or (0, ""))[1])
            hits.append(GuideHit(gid, fused[gid], section, lex[0] if lex else None, den[0] if den else None))
        return hits

    def guide_scores_lexical(self, query: str) -> dict[str, float]:
        """Guide → BM25 score of its best passage."""
        scores = self.lexical_scores(query)
        if not scores:
            return {}
        best = np.zeros(len(self._guide_ids))
        np.maximum.at(best, self._guide_of[scores.ids], scores.values)
        return {self._guide_ids[g]: float(best[g]) for g in np.flatnonzero(best > 0.0)}

    def guide_scores_dense(self, query: str) -> dict[str, float] | None:
        """Guide → cosine of its best passage (None without an encoder)."""
        vector = self.query_vector(query)
        if vector is None or self.vectors is None:
            return None
        sims = self.vectors @ vector
        best = np.maximum.reduceat(sims[self._by_guide_order], self._guide_starts)
        return dict(zip(self._guide_ids, map(float, best), strict=True))

    @staticmethod
    def max_score(dense_weight: float = DENSE_WEIGHT_ACCENTED) -> float:
        """The fused score of a guide ranked first by both lists."""
        return (1.0 + dense_weight) / (RRF_K + 1)


def cache_key(passages: list[Passage], encoder: Encoder | None) -> str:
    """What the cached vectors (and the part models learned with them) are keyed on: the passages themselves (not only
    the files), so a change in how passages are cut rebuilds too; and the encoder with what its model folder holds,
    when it says (a model rebuilt in the same folder rebuilds the vectors)."""
    content = "\x1e".join(f"{p.guide_id}\x1f{p.kind}\x1f{p.text}" for p in passages)
    if encoder is None:
        return hashlib.sha256(f"{content}|none".encode()).hexdigest()[:16]
    fingerprint = str(getattr(encoder, "fingerprint", ""))
    model = f"{encoder.name}|{fingerprint}" if fingerprint else encoder.name
    return hashlib.sha256(f"{content}|{model}".encode()).hexdigest()[:16]


def _cached_vectors(cache_dir: Path, encoder: Encoder, passages: list[Passage],
                    progress: bool, key: str) -> np.ndarray:
    fingerprint = str(getattr(encoder, "fingerprint", ""))
    path = cache_dir / f"dense-{key}.npy"
    meta = cache_dir / f"dense-{key}.json"
    if path.exists() and meta.exists():
        stored = json.loads(meta.read_text())
        if stored.get("passages") == len(passages):
            return np.load(path)
    logger.info("Building dense index for %d passages with %s", len(passages), encoder.name)
    texts = [p.text for p in passages]
    batches = [texts[i:i + 16] for i in range(0, len(texts), 16)]
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="Embedding guide passages", unit="batch")  # type: ignore[assignment]
    vectors = np.concatenate([encoder.encode(b, "passage") for b in batches]).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    meta.write_text(json.dumps({"passages": len(passages), "model": encoder.name, "model_fingerprint": fingerprint,
                                "sample": asdict(passages[0]) if passages else None}, ensure_ascii=False))
    return vectors


_lock = threading.Lock()
_index: HybridIndex | None = None


def get_index() -> HybridIndex:
    """The process-wide index, built on first use from settings."""
    global _index
    with _lock:
        if _index is None:
            from actions.retrieval.dense import make_encoder
            from actions.settings import get_settings

            s = get_settings()
            encoder = make_encoder(s.embedding_backend, s.embedding_model, s.torch_threads, s.embedding_precision)
            _index = HybridIndex.build(s.knowledge_dir, s.index_dir, encoder, nlu_dir=s.nlu_dir)
    return _index
