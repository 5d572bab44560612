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

import hashlib
import importlib.metadata
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actions.retrieval.calibration import SectionWeights
from actions.retrieval.index import HybridIndex
from common.text import PART_SHAPES, fold, normalise, part_shapes, tokens

GENERAL = ""  # the guide's summary
logger = logging.getLogger(__name__)
PART_MODEL_VERSION = 1  # bump when the part model's features or learner change: stored models are then relearned
STORED = "parts:stored"  # the index's `derived` entry holding the stored part models

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


def char_grams(text: str, low: int = 2, high: int = 4) -> list[str]:
    """scikit-learn's `char_wb` analyzer on lowercase text, without scikit-learn: the character n-grams of each word
    padded with a space at both ends (a word shorter than n counted once). A test checks it gram for gram."""
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.extend(padded[i:i + n] for i in range(max(1, len(padded) - n + 1)))
            if len(padded) <= n:
                break
    return grams


@dataclass(frozen=True, eq=False)
class PartModel:
    """Which part of one guide a question belongs to, learned from every example of every part at once.

    The examples are the resident questions written for each part (knowledge/questions/), the parts' own text and the
    guide's description. A logistic regression reads character n-grams of the normalised text (so a missing
    diacritic, an abbreviation or a typo changes a few n-grams, not the word) and the dense vector when the index has
    one. The best single matching passage can be one lucky example; the model weighs all of a part's examples.

    Learning needs scikit-learn (`learn`); scoring a question is numpy arithmetic on the learned weights, which `make
    index` stores next to the dense vectors (`save_part_models`), so the action server loads them and never imports
    scikit-learn (~110 MB of a process) unless the stored file is missing or stale.
    """

    parts: tuple[str, ...]
    classes: tuple[str, ...] = ()  # empty: fewer than two parts, nothing to choose
    vocabulary: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    gram_weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # grams × classes
    dense_weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # dimensions × classes
    intercept: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @classmethod
    def learn(cls, index: HybridIndex, guide_id: str) -> PartModel:
        """Learn the guide's model (scikit-learn's TfidfVectorizer and LogisticRegression, imported here)."""
        fitted = fit_part_model(index, guide_id)
        if fitted is None:
            ids = _part_passages(index, guide_id)
            return cls(parts=tuple(sorted({_heading(index.passages[i].section) for i in ids})))
        vectorizer, classifier, parts = fitted
        coef = classifier.coef_.astype(np.float32)
        intercept = classifier.intercept_.astype(np.float32)
        if coef.shape[0] == 1:  # two parts: sklearn keeps one row, p(second) = sigmoid(row), i.e. softmax([0, row])
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        vocabulary = {str(gram): int(column) for gram, column in vectorizer.vocabulary_.items()}
        size = len(vocabulary)
        return cls(parts=tuple(parts), classes=tuple(str(c) for c in classifier.classes_), vocabulary=vocabulary,
                   idf=vectorizer.idf_.astype(np.float32), gram_weights=coef[:, :size].T.copy(),
                   dense_weights=coef[:, size:].T.copy(), intercept=intercept.astype(np.float32))

    def probabilities(self, text: str, vector: np.ndarray | None) -> dict[str, float]:
        """Each part's probability of being the one the text asks about (as the classifier's predict_proba)."""
        if not self.classes:
            return {part: 1.0 for part in self.parts}
        counts: dict[int, int] = {}
        for gram in char_grams(normalise(text)):
            column = self.vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        logits = self.intercept.copy()
        if counts:
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) \
                * self.idf[columns]
            logits += (weights / np.linalg.norm(weights)) @ self.gram_weights[columns]
        if vector is not None and len(self.dense_weights):
            logits += np.asarray(vector, dtype=np.float32) @ self.dense_weights
        odds = np.exp(logits - logits.max())
        return dict(zip(self.classes, map(float, odds / odds.sum()), strict=True))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The model as named arrays (strings as unicode arrays: the file loads without pickle)."""
        grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {f"{prefix}/parts": np.array(self.parts, dtype=str), f"{prefix}/classes": np.array(self.classes, dtype=str),
                f"{prefix}/grams": np.array(grams, dtype=str), f"{prefix}/idf": self.idf,
                f"{prefix}/gram_weights": self.gram_weights, f"{prefix}/dense_weights": self.dense_weights,
                f"{prefix}/intercept": self.intercept}

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> PartModel:
        """The model `arrays` wrote under `prefix`."""
        grams = [str(g) for g in arrays[f"{prefix}/grams"]]
        return cls(parts=tuple(str(p) for p in arrays[f"{prefix}/parts"]),
                   classes=tuple(str(c) for c in arrays[f"{prefix}/classes"]),
                   vocabulary={gram: column for column, gram in enumerate(grams)}, idf=arrays[f"{prefix}/idf"],
                   gram_weights=arrays[f"{prefix}/gram_weights"], dense_weights=arrays[f"{prefix}/dense_weights"],
                   intercept=arrays[f"{prefix}/intercept"])


def fit_part_model(index: HybridIndex, guide_id: str) -> tuple[Any, Any, list[str]] | None:
    """scikit-learn's vectorizer and classifier fitted on the guide's part passages, and the parts; None when the
    guide has fewer than two parts."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: imported only to learn
    from sklearn.linear_model import LogisticRegression

    ids = _part_passages(index, guide_id)
    labels = [_heading(index.passages[i].section) for i in ids]
    parts = sorted(set(labels))
    if len(parts) < 2:
        return None
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32)
    grams = vectorizer.fit_transform([normalise(index.passages[i].text) for i in ids])
    if index.vectors is not None:
        from scipy.sparse import csr_matrix, hstack

        grams = hstack([grams, csr_matrix(index.vectors[ids])]).tocsr()
    return vectorizer, LogisticRegression(C=4.0, max_iter=3000).fit(grams, labels), parts


def part_models_file(index: HybridIndex) -> Path | None:
    """Where the guides' part models are stored for this index (its passages, vectors and scikit-learn's version)."""
    if index.cache_dir is None or not index.cache_key:
        return None
    try:
        learner = importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        learner = "none"
    key = hashlib.sha256(f"{index.cache_key}|{PART_MODEL_VERSION}|{learner}".encode()).hexdigest()[:16]
    return index.cache_dir / f"parts-{key}.npz"


def stored_part_models(index: HybridIndex) -> dict[str, PartModel]:
    """The part models `save_part_models` stored for this index, read once; {} when there are none."""
    with index.derived_lock:
        if STORED not in index.derived:
            path = part_models_file(index)
            models: dict[str, PartModel] = {}
            if path is not None and path.exists():
                try:
                    with np.load(path, allow_pickle=False) as arrays:
                        guides = [str(g) for g in arrays["guides"]]
                        models = {g: PartModel.from_arrays(arrays, g) for g in guides}
                except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:  # a torn or foreign file
                    logger.warning("Ignoring the stored part models in %s (%s): learning them", path, error)
                    models = {}
            index.derived[STORED] = models
        return index.derived[STORED]  # type: ignore[no-any-return]


def save_part_models(index: HybridIndex) -> Path | None:
    """Learn (or take) every guide's part model and store them for this index, written atomically; the path, or
    None when the index has no cache folder."""
    path = part_models_file(index)
    if path is None:
        return None
    arrays: dict[str, np.ndarray] = {"guides": np.array(list(index.guides), dtype=str)}
    for guide_id in index.guides:
        arrays.update(part_model(index, guide_id).arrays(guide_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy types savez(file, allow_pickle, **arrays) loosely
    tmp.replace(path)
    return path


def ready_part_models(index: HybridIndex) -> str:
    """Every guide's part model ready for the first question: the stored ones read; when there were none, learned and
    stored for the next start (a read-only cache folder is logged, not fatal). Says which it was."""
    if stored_part_models(index).keys() >= index.guides.keys():
        for guide_id in index.guides:
            part_model(index, guide_id)
        return "stored"
    try:
        path = save_part_models(index)
    except OSError as error:
        logger.warning("Could not store the part models (%s): the next start learns them again", error)
        return "learned"
    return f"learned and stored in {path}" if path else "learned"


def part_model(index: HybridIndex, guide_id: str) -> PartModel:
    """The guide's part model: the stored one for this index, else learned on first use; kept with the index."""
    key = f"parts:{guide_id}"
    stored = stored_part_models(index)
    with index.derived_lock:
        if key not in index.derived:
            index.derived[key] = stored.get(guide_id) or PartModel.learn(index, guide_id)
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
