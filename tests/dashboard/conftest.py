"""Fixtures of the dashboard tests: a real Redis on the dashboard's own database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.auxil.redis_db import fresh_redis

DASHBOARD_DB = 11


@pytest.fixture
def dashboard_redis() -> Iterator[redis.Redis]:
    """A real Redis, the dashboard tests' database only, empty at the start and the end of the test."""
    yield from fresh_redis(DASHBOARD_DB)
