"""BM25 over diacritic-folded syllables and syllable bigrams."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from common.text import tokens, with_bigrams

# Words so common in questions that they say nothing about the topic.
STOPWORDS = frozenset(
    "toi ban minh em anh chi co khong duoc la thi ma va cua cho voi de o tai nay do gi sao nao nhu the vay roi "
    "a a ah oi nhe nha ha hay hoac neu khi thi cung con nhung cac mot nhieu lam can phai bi da dang se "
    "huong dan tung buoc giup".split()  # asking for guidance names no topic ("hướng dẫn tôi từng bước")
)


def analyse(text: str) -> list[str]:
    """Index terms of a text: folded syllables without stopwords, plus bigrams of the full sequence."""
    toks = tokens(text)
    unigrams = [t for t in toks if t not in STOPWORDS]
    bigrams = [b for b in with_bigrams(toks)[len(toks):] if not all(p in STOPWORDS for p in b.split("_"))]
    return unigrams + bigrams


class BM25:
    """Okapi BM25 over pre-analysed documents; small enough to rebuild in memory on load.

    Each (term, document) pair's share of a score never changes, so it is computed once: the shares of every term sit
    side by side in two flat arrays (document ids, shares) and a query adds up its terms' slices in one numpy call
    instead of a Python loop over every posting (thousands for "vneid" or "hồ sơ"): ~8× faster on the guides' 8,000
    passages, and smaller than keeping the per-document term counts and posting lists it is built from.
    """

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        docs = [Counter(analyse(d)) for d in documents]
        self.size = len(docs)
        lengths = [sum(c.values()) for c in docs]
        self.avg_len = (sum(lengths) / len(lengths)) if lengths else 0.0
        df: Counter[str] = Counter()
        for counts in docs:
            df.update(counts.keys())
        self.idf = {t: math.log(1 + (self.size - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, counts in enumerate(docs):
            scale = self.k1 * (1 - self.b + self.b * lengths[i] / self.avg_len)
            for term, tf in counts.items():
                postings.setdefault(term, []).append((i, self.idf[term] * tf * (self.k1 + 1) / (tf + scale)))
        self._spans: dict[str, tuple[int, int]] = {}
        ids: list[int] = []
        shares: list[float] = []
        for term, pairs in postings.items():
            self._spans[term] = (len(ids), len(ids) + len(pairs))
            ids += [i for i, _ in pairs]
            shares += [share for _, share in pairs]
        self._ids = np.array(ids, dtype=np.int32)
        self._shares = np.array(shares, dtype=np.float64)

    def scored(self, query: str) -> Scored:
        """BM25 score of every document sharing a term with the query, as two arrays."""
        spans = [self._spans[t] for t in sorted(set(analyse(query))) if t in self._spans]
        if not spans:
            return Scored(np.zeros(0, dtype=np.int32), np.zeros(0))
        if len(spans) == 1:  # a term's postings list each document once, in document order
            (start, end), = spans
            return Scored(self._ids[start:end], self._shares[start:end])
        ids = np.concatenate([self._ids[a:z] for a, z in spans])
        totals = np.bincount(ids, weights=np.concatenate([self._shares[a:z] for a, z in spans]), minlength=self.size)
        found = np.unique(ids)
        return Scored(found.astype(np.int32), totals[found])

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document sharing a term with the query, document → score."""
        return self.scored(query).as_dict()


class Scored:
    """The documents a query scored, ascending, and their scores: a twelfth of a dict's memory (a query's scores are
    kept for the last 128 queries; as dicts they held 45 MB after 1,500 real questions)."""

    __slots__ = ("ids", "values")

    def __init__(self, ids: np.ndarray, values: np.ndarray) -> None:
        self.ids, self.values = ids, values

    def __len__(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[int, float]:
        """document → score."""
        return dict(zip(self.ids.tolist(), self.values.tolist(), strict=True))

    def ranked(self) -> np.ndarray:
        """The documents, best first; equal scores in document order (as a stable sort of the dict would give)."""
        return self.ids[np.argsort(-self.values, kind="stable")]

    def lookup(self, documents: Sequence[int] | np.ndarray) -> np.ndarray:
        """The scores of these documents, 0.0 for those the query did not score."""
        wanted = np.asarray(documents, dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return np.zeros(len(wanted))
        where = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return np.where(self.ids[where] == wanted, self.values[where], 0.0)
