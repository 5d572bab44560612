"""NLU components: Vietnamese normalisation before tokenising, and a guard for unreadable input."""

from __future__ import annotations

import hashlib
import inspect
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common import text as text_module
from common.text import MAX_MESSAGE_CHARS, input_problem, normalise, strip_tags

BAD_INPUT_INTENT = "bad_input"
RAW_TEXT = "raw_text"
# A button payload such as /choose_topic{"topic": "vneid-activate"}: Rasa parses it itself.
_PAYLOAD = re.compile(r"^/[a-z_]+(\{.*\})?$", re.DOTALL)


def is_payload(text: object) -> bool:
    """True for a well-formed '/intent{...}' payload (and nothing else starting with '/')."""
    return isinstance(text, str) and bool(_PAYLOAD.match(text.strip()))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class VietnameseNormalizer(GraphComponent):
    """Rewrites message text to its matching form: diacritics folded, đ→d, abbreviations expanded.

    Residents write with and without diacritics; folding both to one form lets every later featurizer see
    "đăng ký" and "dang ky" (and "dk") as the same words.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseNormalizer:
        return cls()

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The normalising rules themselves, so that Rasa's training cache never reuses text normalised by older
        rules (the data and config can be unchanged when only common/text.py changed)."""
        return hashlib.sha256(inspect.getsource(text_module).encode()).hexdigest()

    def _normalise(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text and not is_payload(text):
            message.set(RAW_TEXT, text)
            message.set(TEXT, normalise(strip_tags(text[:MAX_MESSAGE_CHARS])) or text)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalise(message)
        return messages


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
