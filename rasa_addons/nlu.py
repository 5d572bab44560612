"""NLU components: Vietnamese normalisation before tokenising, count vectors for a sentence classifier, and a guard
for unreadable input."""

from __future__ import annotations

import hashlib
import inspect
import re
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import coo_matrix

from common import text as text_module
from common.text import (
    MAX_MESSAGE_CHARS,
    SHORT_QUESTION_MAX_WORDS,
    input_problem,
    normalise,
    part_shapes,
    strip_tags,
    without_opening_words,
)

BAD_INPUT_INTENT = "bad_input"
RAW_TEXT = "raw_text"
NLU_FALLBACK = "nlu_fallback"
# A button payload such as /choose_topic{"topic": "vneid-activate"}: Rasa parses it itself.
_PAYLOAD = re.compile(r"^/[a-z_]+(\{.*\})?$", re.DOTALL)


def is_payload(text: object) -> bool:
    """True for a well-formed '/intent{...}' payload (and nothing else starting with '/')."""
    return isinstance(text, str) and bool(_PAYLOAD.match(text.strip()))


class TextRules(GraphComponent):
    """A component with no state of its own that applies the rules of common/text.py."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextRules:
        return cls()

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The rules themselves, so that Rasa's training cache never reuses what older rules produced (the data and
        config can be unchanged when only common/text.py changed)."""
        return hashlib.sha256(inspect.getsource(text_module).encode()).hexdigest()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class VietnameseNormalizer(TextRules):
    """Rewrites message text to its matching form: diacritics folded, đ→d, abbreviations expanded.

    Residents write with and without diacritics; folding both to one form lets every later featurizer see
    "đăng ký" and "dang ky" (and "dk") as the same words.
    """

    def _normalise(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text and not is_payload(text):
            message.set(RAW_TEXT, text)
            message.set(TEXT, normalise(strip_tags(without_opening_words(text[:MAX_MESSAGE_CHARS]))) or text)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalise(message)
        return messages


# Rasa's CountVectorsFeaturizer._create_features as this subclass was written against (rasa_addons.speedups.fingerprint):
# the sentence half below is its code; tests/rasa_addons/test_nlu.py fails when Rasa's changes.
RASA_CREATE_FEATURES = "82e627168bfa47c731e52b7e09c1a41b37f73b79aab57ae615d97cc598defd9b"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer (same options, vocabulary and sentence features) without sequence features.

    Rasa's featurizer also vectorises every token on its own (one row per token, "sequence features") for its
    neural components (DIET, TED, entity extractors). This pipeline has none: LogisticRegressionClassifier reads the
    sentence features only, so the per-token rows cost a transform per featurizer on every message and were thrown
    away (about 3% of Rasa's CPU per turn in a py-spy profile). A pipeline that adds a component reading sequence
    features must use Rasa's CountVectorsFeaturizer again.

    The sentence row is built directly (`sentence_row`): the same COO matrix as Rasa's `transform`, `sort_indices`,
    `tocoo`, which spent 110-140 µs a message per featurizer in scipy's constructors and checks around a 6-17 µs
    n-gram count.
    """

    def _create_features(self, attribute: str, all_tokens: list[list[str]]) -> tuple[list[Any], list[Any]]:
        if not self.vectorizers.get(attribute):
            return [None], [None]
        sentence_features: list[Any] = []
        for tokens in all_tokens:
            if tokens and attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
                sentence_features.append(sentence_row(self.vectorizers[attribute], " ".join(tokens)))
            else:
                sentence_features.append(None)
        return [None] * len(all_tokens), sentence_features


def sentence_row(vectorizer: Any, text: str) -> Any:
    """`vectorizer.transform([text])` with sorted indices, as a COO matrix, built directly: the vectorizer's own
    analyser and vocabulary count the n-grams (out-of-vocabulary ones dropped), columns ascending, values in the
    vectorizer's dtype (1 when it is binary), int32 indices."""
    vectorizer._check_vocabulary()
    vocabulary = vectorizer.vocabulary_
    counts: dict[int, int] = {}
    for feature in vectorizer.build_analyzer()(text):
        column = vocabulary.get(feature)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    columns = sorted(counts)
    data = np.fromiter((1 if vectorizer.binary else counts[c] for c in columns), dtype=vectorizer.dtype,
                       count=len(columns))
    return coo_matrix((data, (np.zeros(len(columns), dtype=np.int32), np.array(columns, dtype=np.int32))),
                      shape=(1, len(vocabulary)))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    """Overrides the intent with `bad_input` for empty, symbol-only, emoji-only or overlong messages.

    The reason is not attached as an entity: action_bad_input works it out again from the text and metadata.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            raw = message.get(RAW_TEXT, message.get(TEXT))
            if is_payload(raw):
                continue
            metadata = message.get("metadata") or {}
            problem = (metadata.get("input_problem") if isinstance(metadata, dict) else None) or input_problem(raw)
            if problem:
                intent = {"name": BAD_INPUT_INTENT, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages


# What a short message with the shape of a question about a part ("có mất phí không", "xin ở đâu", "giờ báo cho ai")
# is never: a yes or no, a greeting, thanks or a move in a walkthrough. The classifier reads such words ("có…
# không", "xin", "ạ") and not the question.
CHAT_INTENTS = frozenset({"affirm", "deny", "greet", "thank", "goodbye", "nav_menu", "nav_repeat", "nav_back",
                          "nav_next", "nav_restart", "nlu_fallback"})
PART_QUESTION_INTENT = "part_question"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PartQuestionGuard(TextRules):
    """Reads a short question about a part of a procedure (the fee, the papers, where to ask, the steps; the shapes
    in common.text.PART_SHAPES) as `part_question` when the classifier took it for chat (`CHAT_INTENTS`).

    The action server then answers it from the guide the conversation is about, or asks which procedure is meant.
    """

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            raw = message.get(RAW_TEXT, message.get(TEXT))
            intent = message.get(INTENT) or {}
            if not isinstance(raw, str) or is_payload(raw) or intent.get("name") not in CHAT_INTENTS:
                continue
            if len(normalise(raw).split()) > SHORT_QUESTION_MAX_WORDS or not part_shapes(raw):
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != NLU_FALLBACK]
            if ranking and ranking[0].get("name") not in CHAT_INTENTS | {PART_QUESTION_INTENT}:
                continue  # unsure between procedures ("hộ chiếu phí bao nhiêu"): that question names its topic
            own = max((float(r.get("confidence") or 0.0) for r in ranking if r.get("name") == PART_QUESTION_INTENT),
                      default=0.0)
            chosen = {"name": PART_QUESTION_INTENT, "confidence": max(own, float(intent.get("confidence") or 0.0))}
            rest = [r for r in ranking if r.get("name") != PART_QUESTION_INTENT]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)
        return messages
