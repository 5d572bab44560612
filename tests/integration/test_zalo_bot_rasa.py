"""A resident on Zalo Bot talks to the real assistant: fake Zalo Bot API, real gateway, real Rasa, real Redis."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from zalo_bot import Bot

from bot.zalo.bot_platform import SECRET_HEADER, WEBHOOK_PATH, ZaloBotGateway
from tests.auxil.fake_zalo_bot import TOKEN, FakeZaloBot, text_update, webhook_body
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.integration

SECRET = "test-webhook-secret"


class ZaloResident:
    """One resident writing to the bot through the webhook, reading what the fake Zalo API received."""

    def __init__(self, client: TestClient, gateway: ZaloBotGateway, zalo: FakeZaloBot) -> None:
        self.client, self.gateway, self.zalo = client, gateway, zalo
        self.chat = uuid.uuid4().hex[:16]

    async def say(self, text: str) -> list[str]:
        """The messages sent back for this one message."""
        before = len(self.zalo.texts(self.chat))
        response = await self.client.post(WEBHOOK_PATH, json=webhook_body(text_update(self.chat, text)),
                                          headers={SECRET_HEADER: SECRET})
        assert response.status == 200
        await self.gateway.drain(timeout=60)
        replies = self.zalo.texts(self.chat)[before:]
        assert replies, f"no reply to {text!r}"
        return replies


@pytest.fixture
async def zalo_resident(stack: str) -> AsyncIterator[ZaloResident]:
    redis = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    async with FakeZaloBot() as zalo:
        bot = Bot(TOKEN, zalo.base_url)
        await bot.initialize()
        gateway = ZaloBotGateway(bot, redis, stack, secret=SECRET, rasa_timeout_s=60)
        async with TestClient(TestServer(gateway.app())) as client:
            yield ZaloResident(client, gateway, zalo)
        await gateway.drain(timeout=60)
        await gateway.aclose()
        await bot.shutdown()
    await redis.aclose()


async def test_question_is_answered_with_its_source_and_numbered_choices(zalo_resident: ZaloResident) -> None:
    replies = await zalo_resident.say("kích hoạt tài khoản VNeID lần đầu thế nào")
    answer = "\n".join(replies)
    assert "Nguồn:" in answer
    assert all(len(r) <= 2000 for r in replies)
    # the answer's buttons arrive as a numbered list, with no buttons left over
    assert "Anh/chị nhắn số để chọn:" in answer
    assert re.search(r"^1\. \S", answer, re.MULTILINE)


async def test_a_number_picks_a_topic_from_a_clarifying_question(zalo_resident: ZaloResident) -> None:
    replies = await zalo_resident.say("giấy tờ")
    question = "\n".join(replies)
    options = re.findall(r"^(\d)\. (.+)$", question, re.MULTILINE)
    assert len(options) >= 2, question
    answer = "\n".join(await zalo_resident.say("1"))
    assert "Nguồn:" in answer, answer
