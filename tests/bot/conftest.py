"""Shared fixtures for gateway tests: a real Redis (db 10, flushed) and a fake Rasa on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot import handoff
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.redis_db import fresh_aredis, url

GATEWAY_REDIS_URL = url(10)


@pytest.fixture(autouse=True)
def gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two settings every gateway needs, as a deployment sets them (tests that check them change them)."""
    monkeypatch.setenv("REDIS_URL", GATEWAY_REDIS_URL)
    monkeypatch.setenv("FEEDBACK_ID_KEY", "test-pseudonym-key-0123456789abcdef")


@pytest.fixture(autouse=True)
def quick_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle stream reads wait 0.1 s, not 1 s: a gateway a test stops is done at once (the reading is the same)."""
    monkeypatch.setattr(handoff, "READ_BLOCK_MS", 100)


@pytest.fixture
async def aredis() -> AsyncIterator[aioredis.Redis]:
    """A real Redis (the gateways' state is Redis commands; faking them would test the fake), db 10 only."""
    async for client in fresh_aredis(10):
        yield client


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    async with FakeRasa() as server:
        yield server
