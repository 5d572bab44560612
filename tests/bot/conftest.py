"""Shared fixtures for gateway tests: a real Redis (db 10, flushed) and a fake Rasa on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.auxil.fake_rasa import FakeRasa

GATEWAY_REDIS_URL = os.environ.get("TEST_GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/10")


@pytest.fixture(autouse=True)
def gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two settings every gateway needs, as a deployment sets them (tests that check them change them)."""
    monkeypatch.setenv("REDIS_URL", GATEWAY_REDIS_URL)
    monkeypatch.setenv("FEEDBACK_ID_KEY", "test-pseudonym-key-0123456789abcdef")


@pytest.fixture
async def aredis() -> AsyncIterator[aioredis.Redis]:
    """A real Redis (the gateways' state is Redis commands; faking them would test the fake)."""
    client = aioredis.Redis.from_url(GATEWAY_REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception:  # noqa: BLE001
        pytest.fail(f"gateway tests need Redis at {GATEWAY_REDIS_URL} (tools/test.sh starts one)")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    async with FakeRasa() as server:
        yield server
