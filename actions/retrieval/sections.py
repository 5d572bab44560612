"""Which part of a guide answers the question: a fee, a deadline, one problem's fix, or the whole topic.

Once the guide is chosen, its parts compete on their own: each `##` section and each `###` problem is scored by how
well its text, or one of the resident questions written for it (knowledge/questions/), matches the question (BM25
and the dense encoder, each scaled to the best part of *this* guide) plus a bonus when the question has the shape of
a section ("bao nhiêu tiền" → fees, "ở đâu" → where to ask). A part other than the summary needs a word of the
question beyond the guide's title, or the question's shape: "kích hoạt vneid thế nào" only names the topic. The guide's
description (title, summary, aliases) competes too and stands for a general question: it wins, and the summary is
shown, when no part is clearly closer. A part model (`PartModel`), learned per guide from all the examples of every
part at once, adds its probability for each part. The weights are chosen on the blind set's validation split
(`tools/calibrate.py`) and kept in `calibration.json`, next to this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from actions.retrieval.calibration import SectionWeights
from actions.retrieval.index import HybridIndex
from common.text import PART_SHAPES, fold, normalise, part_shapes, tokens

GENERAL = ""  # the guide's summary

@dataclass(frozen=True)
class SectionChoice:
    heading: str  # GENERAL for the summary
    score: float
    runner_up: str


def _scaled(values: np.ndarray) -> np.ndarray:
    top, low = float(values.max()), float(values.min())
    return (values - low) / (top - low) if top > low else np.zeros_like(values)


@dataclass(frozen=True)
class PartFeatures:
    """How well each part of one guide matches a question, before weighting."""

    headings: tuple[str, ...]  # GENERAL for the guide's description and its summary
    lexical: np.ndarray
    dense: np.ndarray
    cue: np.ndarray  # 1.0 where the question has that part's shape
    general: np.ndarray  # 1.0 for the summary
    needs_cue: np.ndarray  # True for the parts chosen only for a question of their shape
    # True where the part matches a word of the question beyond the guide's title: a question that only names the
    # topic ("kích hoạt vneid thế nào") is a general one, not the problem whose examples repeat the topic's words
    evidence: np.ndarray | None = None
    from_questions: np.ndarray | None = None  # True for a resident question written for the part (not its own text)
    model: np.ndarray | None = None  # the part model's probability for the passage's part


def _heading(section: str) -> str:
    return GENERAL if section in ("", "Tóm tắt") else section


def _part_passages(index: HybridIndex, guide_id: str) -> list[int]:
    """The passages that stand for a part of the guide: its description, its sections, the questions written for them."""
    return [i for i in index.by_guide.get(guide_id, []) if index.passages[i].kind in ("about", "section", "part")]


class PartModel:
    """Which part of one guide a question belongs to, learned from every example of every part at once.

    The examples are the resident questions written for each part (knowledge/questions/), the parts' own text and the
    guide's description. A logistic regression reads character n-grams of the normalised text (so a missing
    diacritic, an abbreviation or a typo changes a few n-grams, not the word) and the dense vector when the index has
    one. The best single matching passage can be one lucky example; the model weighs all of a part's examples.
    """

    def __init__(self, index: HybridIndex, guide_id: str) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: imported when the first model is built
        from sklearn.linear_model import LogisticRegression

        ids = _part_passages(index, guide_id)
        labels = [_heading(index.passages[i].section) for i in ids]
        self.parts = sorted(set(labels))
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32)
        self.classifier: Any = None
        if len(self.parts) < 2:
            return
        grams = self.vectorizer.fit_transform([normalise(index.passages[i].text) for i in ids])
        if index.vectors is not None:
            from scipy.sparse import csr_matrix, hstack

            grams = hstack([grams, csr_matrix(index.vectors[ids])]).tocsr()
        self.classifier = LogisticRegression(C=4.0, max_iter=3000).fit(grams, labels)
        # scoring one question by hand: sklearn's per-call checks cost more than the arithmetic (~0.8 ms a call)
        self._analyse = self.vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = self.vectorizer.vocabulary_
        self._idf = self.vectorizer.idf_.astype(np.float32)
        coef = self.classifier.coef_.astype(np.float32)
        intercept = self.classifier.intercept_.astype(np.float32)
        if coef.shape[0] == 1:  # two parts: sklearn keeps one row, p(second) = sigmoid(row), i.e. softmax([0, row])
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        size = len(self._vocabulary)
        self._gram_weights, self._dense_weights = coef[:, :size].T.copy(), coef[:, size:].T.copy()
        self._intercept = intercept.astype(np.float32)
        self._classes = [str(c) for c in self.classifier.classes_]

    def probabilities(self, text: str, vector: np.ndarray | None) -> dict[str, float]:
        """Each part's probability of being the one the text asks about (as the classifier's predict_proba)."""
        if self.classifier is None:
            return {part: 1.0 for part in self.parts}
        counts: dict[int, int] = {}
        for gram in self._analyse(normalise(text)):
            column = self._vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        logits = self._intercept.copy()
        if counts:
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) \
                * self._idf[columns]
            logits += (weights / np.linalg.norm(weights)) @ self._gram_weights[columns]
        if vector is not None and len(self._dense_weights):
            logits += np.asarray(vector, dtype=np.float32) @ self._dense_weights
        odds = np.exp(logits - logits.max())
        return dict(zip(self._classes, map(float, odds / odds.sum()), strict=True))


def part_model(index: HybridIndex, guide_id: str) -> PartModel:
    """The guide's part model, learned on first use and kept with the index."""
    key = f"parts:{guide_id}"
    with index.derived_lock:
        if key not in index.derived:
            index.derived[key] = PartModel(index, guide_id)
        return index.derived[key]  # type: ignore[no-any-return]


def part_features(index: HybridIndex, guide_id: str, text: str) -> PartFeatures:
    """Match the text against every part of one guide (BM25 and dense, each scaled within the guide)."""
    # the guide's description (title, summary, aliases) and its "Tóm tắt" both stand for a general question
    # a part's example questions stand for that part (knowledge/questions/<id>.yml)
    ids = _part_passages(index, guide_id)
    lexical_all = index.lexical_scores(text)
    lexical = _scaled(lexical_all.lookup(ids))
    dense = np.zeros(len(ids))
    vector = index.query_vector(text)
    if vector is not None and index.vectors is not None and ids:
        dense = _scaled(index.vectors[ids] @ vector)
    title_terms = set(tokens(index.guides[guide_id].title)) if guide_id in index.guides else set()
    beyond = " ".join(t for t in tokens(text) if t not in title_terms)
    beyond_scores = index.lexical_scores(beyond)  # nothing beyond the title scores nothing
    cues = part_shapes(text)
    headings = tuple(_heading(index.passages[i].section) for i in ids)
    probabilities = part_model(index, guide_id).probabilities(text, vector) if ids else {}
    return PartFeatures(
        headings, lexical, dense,
        np.array([1.0 if h in cues else 0.0 for h in headings]),
        # the summary's weight: the guide's own description and "Tóm tắt", not the questions written for the whole topic
        np.array([1.0 if h == GENERAL and index.passages[i].kind != "part" else 0.0 for h, i in zip(headings, ids,
                                                                                                   strict=True)]),
        np.array([h in PART_SHAPES for h in headings]),
        beyond_scores.lookup(ids) > 0,
        np.array([index.passages[i].kind == "part" for i in ids], dtype=bool),
        np.array([probabilities.get(h, 0.0) for h in headings]),
    )


def pick_part(features: PartFeatures, weights: SectionWeights) -> SectionChoice:
    """The best part under these weights."""
    if not features.headings:
        return SectionChoice(GENERAL, 0.0, GENERAL)
    scores = (weights.lexical * features.lexical + weights.dense * features.dense + weights.cue * features.cue
              + weights.general * features.general)
    if features.model is not None and weights.classifier:
        scores = scores + weights.classifier * features.model
    # the fees, documents, where-to-ask and steps parts answer questions of that shape: a general question that shares
    # words with a short fee line ("kích hoạt … miễn phí") gets the summary, not the fees. Without the shape, such a
    # part can still win through a resident question written for it ("lấy ngay được không hay phải hẹn hôm sau"),
    # at a calibrated cost (`uncued`; < 0: never)
    unshaped = features.needs_cue & (features.cue == 0)
    if weights.uncued >= 0 and features.from_questions is not None:
        scores = np.where(unshaped & features.from_questions, scores - weights.uncued, scores)
        unshaped = unshaped & ~features.from_questions
    scores = np.where(unshaped, -np.inf, scores)
    if features.evidence is not None:
        specific = np.array([h != GENERAL for h in features.headings])
        scores = np.where(specific & ~features.evidence & (features.cue == 0), -np.inf, scores)
    order = np.argsort(-scores, kind="stable")
    runner_up = features.headings[order[1]] if len(order) > 1 else GENERAL
    return SectionChoice(features.headings[order[0]], float(scores[order[0]]), runner_up)


def choose_section(index: HybridIndex, guide_id: str, text: str, weights: SectionWeights) -> SectionChoice:
    """The heading of the part of this guide that answers the text (GENERAL for the summary)."""
    return pick_part(part_features(index, guide_id, text), weights)


def same_part(got: str, label: str) -> bool:
    """Whether two headings name the same part (the summary may be written "" or "Tóm tắt")."""

    def key(heading: str) -> str:
        return fold(heading or "Tóm tắt").strip(" .:")

    return key(got) == key(label)
