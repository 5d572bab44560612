"""BM25 over diacritic-folded syllables and syllable bigrams."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

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
    """Okapi BM25 over pre-analysed documents; small enough to rebuild in memory on load."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(analyse(d)) for d in documents]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avg_len = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for counts in self.docs:
            df.update(counts.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, counts in enumerate(self.docs):
            for term in counts:
                self.postings.setdefault(term, []).append(i)

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document sharing a term with the query."""
        out: dict[int, float] = {}
        for term in set(analyse(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                tf = self.docs[i][term]
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_len)
                out[i] = out.get(i, 0.0) + idf * tf * (self.k1 + 1) / norm
        return out
