"""Constants shared by the Rasa-side tests (a plain module, so test files need not import conftest)."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
# A database of its own: tests/integration uses 15, a running stack the default 0.
REDIS_TEST_URL = "redis://127.0.0.1:6379/14"
