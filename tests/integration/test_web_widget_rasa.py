"""The web widget's API in front of the real assistant (trained Rasa model + action server), state in real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import CommonSettings
from bot.web.app import create_app
from bot.web.settings import WebSettings
from tests.auxil.redis_db import url

pytestmark = pytest.mark.integration

GATEWAY_REDIS_URL = url(9)


@pytest.fixture
async def web(stack: str) -> AsyncIterator[TestClient]:
    """The web app on loopback, talking to the real Rasa REST webhook started by the `stack` fixture."""
    redis = aioredis.Redis.from_url(GATEWAY_REDIS_URL, decode_responses=True)
    common = CommonSettings(rasa_url=stack, redis_url=GATEWAY_REDIS_URL, host="127.0.0.1", rasa_timeout_s=60.0,
                            feedback_id_key="test-pseudonym-key-0123456789abcdef")
    client = TestClient(TestServer(create_app(WebSettings(common=common), redis), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await redis.aclose()


async def test_a_resident_asks_through_the_widget_api_and_gets_a_sourced_answer(web: TestClient) -> None:
    sender = uuid.uuid4().hex
    response = await web.post("/api/chat", json={"sender": sender, "message": "Làm sao kích hoạt VNeID mức 2?"})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["handoff"] is False
    first = body["replies"][0]
    assert first["kind"] in ("answer", "clarify")
    assert first["kind"] == first["custom"]["kind"]
    assert all(b["title"] and b["payload"] for r in body["replies"] for b in r["buttons"])
    if first["kind"] == "clarify":
        # the resident taps the first topic offered, as the widget's button does
        chosen = next(b for b in first["buttons"] if "choose_topic" in b["payload"])
        response = await web.post("/api/chat", json={"sender": sender, "message": chosen["payload"]})
        assert response.status == 200
        first = (await response.json())["replies"][0]
        assert first["kind"] == "answer"
    # the page that holds the part shown: most are https, a few provincial pages are http only
    assert any(line.startswith(("Nguồn: https://", "Nguồn: http://")) for line in first["text"].splitlines()), first["text"]
    assert first["custom"]["guide_id"].startswith("vneid")
    # nothing is left behind for the widget's poll
    inbox = await web.get("/api/inbox", params={"sender": sender})
    assert (await inbox.json())["replies"] == []
