"""The province topology on one machine: replicas of everything behind a real haproxy, one gateway replica killed
mid-run; every resident message is answered once, in the order it was sent.

Two Rasa replicas, two action servers and two Zalo Bot gateways (webhook mode, one consumer group on Redis) sit
behind haproxy (Debian's package; CI installs it); residents' webhooks go through haproxy as Zalo's would. Each
resident sends several messages in quick succession, without waiting for the answers, so consecutive messages of one
resident are taken by different gateway replicas. Halfway through, one gateway replica is killed with SIGKILL.
Rasa's stored conversation (Redis) is the record: each message id must appear exactly once, in sending order.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.zalo.bot_platform import SECRET_HEADER, WEBHOOK_PATH
from tests.auxil.fake_zalo_bot import FakeZaloBot, text_update, webhook_body
from tools.harness import MODEL, ZALO_BOT_SECRET, Stack

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run `make train`)")]

RESIDENTS = 8
QUESTIONS = ["xin chào", "kích hoạt vneid mức 2 thế nào", "làm lại căn cước mất bao nhiêu tiền",
             "nộp hồ sơ trực tuyến ở đâu", "quên mật khẩu dịch vụ công", "cảm ơn"]
DONE_TIMEOUT_S = 240.0  # a killed replica's events are taken over after the gateways' 30 s claim time


async def post_until_kept(session: aiohttp.ClientSession, url: str, chat: str, text: str, msg_id: str) -> int:
    """POST one update the way Zalo does: again (same message id) until a 200; returns how many tries it took."""
    body = webhook_body(text_update(chat, text, msg_id=msg_id))
    for attempt in range(1, 60):
        try:
            async with session.post(url, json=body, headers={SECRET_HEADER: ZALO_BOT_SECRET}) as response:
                if response.status == 200:
                    return attempt
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"update {msg_id} never accepted")


async def user_message_ids(redis_url: str, chats: list[str]) -> dict[str, list[str]]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        out = {}
        for chat in chats:
            events = [json.loads(e) for e in await client.lrange(f"tracker:zalobot:{chat}:events", 0, -1)]
            out[chat] = [str(e.get("message_id")) for e in events if e.get("event") == "user"]
        return out
    finally:
        await client.aclose()


async def test_replicas_behind_haproxy_lose_nothing_repeat_nothing_and_keep_order(tmp_path: Path) -> None:
    rng = random.Random(7)
    chats = [f"topo{i:02d}" for i in range(RESIDENTS)]
    sent: dict[str, list[str]] = {chat: [] for chat in chats}
    async with FakeZaloBot() as zalo:
        stack = Stack(tmp_path, rasa_replicas=2, web_replicas=0, action_replicas=2, gateway_replicas=2,
                      zalo_bot_api=zalo.base_url)
        assert stack.replicas("zalo_bot") == ["zalo_bot1", "zalo_bot2"]
        try:
            await stack.start()
            url = f"http://127.0.0.1:{stack.ports['zalo_bot']}{WEBHOOK_PATH}"
            total = RESIDENTS * len(QUESTIONS)
            accepted = 0
            killed_at = -1

            async def resident(chat: str, session: aiohttp.ClientSession) -> None:
                nonlocal accepted, killed_at
                for n, question in enumerate(QUESTIONS):
                    msg_id = f"{chat}-m{n}"
                    await post_until_kept(session, url, chat, question, msg_id)
                    sent[chat].append(msg_id)
                    accepted += 1
                    if killed_at < 0 and accepted >= total // 2:
                        killed_at = accepted
                        stack.services["zalo_bot1"].kill()  # mid-run, holding events in hand
                    await asyncio.sleep(rng.uniform(0.0, 0.15))

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                await asyncio.gather(*(resident(chat, session) for chat in chats))

            deadline = time.monotonic() + DONE_TIMEOUT_S
            handled = await user_message_ids(stack.redis_url, chats)
            while time.monotonic() < deadline and any(len(handled[c]) < len(QUESTIONS) for c in chats):
                await asyncio.sleep(1.0)
                handled = await user_message_ids(stack.redis_url, chats)
            await asyncio.sleep(2.0)  # anything handled twice would show up now
            handled = await user_message_ids(stack.redis_url, chats)
        finally:
            stack.stop()

    assert killed_at > 0 and stack.services["zalo_bot1"].kills == 1
    lost = {c: sorted(set(sent[c]) - set(handled[c])) for c in chats if set(sent[c]) - set(handled[c])}
    repeated = {c: handled[c] for c in chats if len(handled[c]) != len(set(handled[c]))}
    out_of_order = {c: handled[c] for c in chats if handled[c] != sent[c]}
    assert not lost, f"lost: {lost}"
    assert not repeated, f"handled twice: {repeated}"
    assert not out_of_order, f"out of order: {out_of_order}"
    for chat in chats:
        # every message got at least one reply on Zalo
        assert len(zalo.texts(chat)) >= len(QUESTIONS), (chat, zalo.texts(chat))
