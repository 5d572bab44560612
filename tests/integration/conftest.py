"""A real stack for integration tests: trained Rasa model + action server, tracker in a real Redis (db 15)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.auxil.redis_db import fresh_redis, url

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = url(15)
RASA_PORT, ACTIONS_PORT = 5105, 5155


@pytest.fixture(scope="session")
def redis_db() -> Iterator[redis.Redis]:
    yield from fresh_redis(15)


@pytest.fixture(scope="session")
def stack(redis_db: redis.Redis) -> Iterator[str]:
    """Start Rasa and the action server on test ports; stop them afterwards."""
    if not (ROOT / "models" / "assistant.tar.gz").exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    env = {**os.environ, "REDIS_URL": REDIS_URL, "FEEDBACK_ID_KEY": "test-pseudonym-key-0123456789abcdef",
           "RASA_PORT": str(RASA_PORT), "ACTIONS_PORT": str(ACTIONS_PORT),
           "RUN_DIR": str(ROOT / ".run" / "integration")}
    stack_sh = str(ROOT / "tools" / "stack.sh")
    subprocess.run([stack_sh, "stop"], env=env, check=False, capture_output=True)
    started = subprocess.run([stack_sh, "serve"], env=env, capture_output=True, text=True, timeout=300)
    if started.returncode != 0:
        pytest.fail(f"stack did not start:\n{started.stdout[-2000:]}\n{started.stderr[-3000:]}")
    try:
        yield f"http://127.0.0.1:{RASA_PORT}/webhooks/rest/webhook"
    finally:
        subprocess.run([stack_sh, "stop"], env=env, check=False, capture_output=True)


class Resident:
    """One resident's conversation through the REST webhook."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sender = f"test-{uuid.uuid4().hex[:10]}"

    def say(self, message: object) -> list[dict]:
        response = httpx.post(self.url, json={"sender": self.sender, "message": message}, timeout=60)
        assert response.status_code == 200, response.text
        replies = response.json()
        assert replies, f"no reply to {message!r}"
        return replies


@pytest.fixture
def resident(stack: str) -> Resident:
    return Resident(stack)
