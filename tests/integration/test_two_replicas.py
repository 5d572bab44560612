"""Two real Rasa replicas on one Redis handle one conversation one message at a time.

Rasa 3.6's Redis lock store issued tickets with a read-then-write that two processes could interleave: "tiếp" sent to
replica A and replica B at the same moment during a walkthrough made both answer "Bước 2" in 11 of 20 trials. With
the atomic ticket lock (rasa_addons/lock_store.py) the two answers must be two different steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tools.harness import MODEL, Stack

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run `make train`)")]


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    stack = Stack(tmp_path, rasa_replicas=2, web_replicas=0)
    try:
        await stack.start()
        yield tuple(f"http://127.0.0.1:{stack.ports[f'rasa{i}']}/webhooks/rest/webhook" for i in (1, 2))  # type: ignore[misc]
    finally:
        stack.stop()


async def say(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> list[dict[str, Any]]:
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        assert response.status == 200, await response.text()
        return list(await response.json())


def steps(replies: list[dict[str, Any]]) -> list[int]:
    return [int(r["custom"]["step"]) for r in replies if r["custom"].get("kind") == "walkthrough"]


async def test_next_sent_to_both_replicas_at_once_advances_two_steps(replicas: tuple[str, str]) -> None:
    first, second = replicas
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for trial in range(10):
            sender = f"two-replicas-{trial}"
            replies = await say(session, first, sender, "hướng dẫn từng bước nộp hồ sơ trực tuyến")
            while any(r["custom"].get("kind") == "readiness" for r in replies):
                replies = await say(session, second, sender, "/affirm")
            assert steps(replies) == [1]

            a, b = await asyncio.gather(say(session, first, sender, "/nav_next"),
                                        say(session, second, sender, "/nav_next"))

            assert sorted(steps(a) + steps(b)) == [2, 3], f"trial {trial}: {steps(a)} and {steps(b)}"
