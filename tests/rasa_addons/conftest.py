"""Shared fixtures for the Rasa-side tests (Python 3.10 venv: `.venv/rasa/bin/python -m pytest tests/rasa_addons`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from addons_support import PROJECT_DIR, REDIS_TEST_URL

# These tests import Rasa, which lives only in the Rasa venv; the app venv (`make test-unit`) skips the folder.
if importlib.util.find_spec("rasa") is None:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def domain() -> Any:
    """The assistant's real domain."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_DIR / "domain.yml"))


def _redis_or_skip() -> Any:
    """A synchronous client on the test database, or a skip when no Redis answers on 127.0.0.1:6379."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=2, decode_responses=True)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"no Redis answering at {REDIS_TEST_URL} ({error}); start one with `redis-server --port 6379`")
    return client


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """The Redis test database 14, flushed before and after the test."""
    client = _redis_or_skip()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
