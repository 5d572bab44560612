"""The gateways' /metrics: counters move after a real turn, gauges come from Redis, a scrape answers with Redis down."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff import OPEN_SET
from bot.quota import QUOTA_KEY
from bot.telegram.gateway import TelegramGateway, run_polling
from bot.web.app import create_app
from bot.web.settings import WebSettings
from common.metrics import value
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_telegram import FakeTelegram
from tests.bot.conftest import GATEWAY_REDIS_URL
from tests.bot.gateways import common, telegram_settings
from tools.harness import free_port

SENDER = "3f2a9c1e-5b7d-4e8a-9c0f-1a2b3c4d5e6f"


async def web_client(rasa_url: str, redis: Any) -> TestClient:
    settings = WebSettings(common=common(rasa_url, "redis://127.0.0.1:6379/10"))
    client = TestClient(TestServer(create_app(settings, redis), host="127.0.0.1"))
    await client.start_server()
    return client


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


async def test_a_turn_moves_the_counters_and_the_latency(aredis: aioredis.Redis, fake_rasa: FakeRasa) -> None:
    client = await web_client(fake_rasa.url, aredis)
    try:
        before = await scrape(client)
        assert value(before, "troly_gateway_messages_in_total", channel="web") is None
        response = await client.post("/api/chat", json={"sender": SENDER, "message": "menu 0912345678"})
        assert response.status == 200
        after = await scrape(client)
    finally:
        await client.close()
    assert value(after, "troly_gateway_messages_in_total", channel="web") == 1
    assert value(after, "troly_gateway_replies_out_total", channel="web") == 1
    assert value(after, "troly_gateway_turn_seconds_count", channel="web") == 1
    # nothing personal: no conversation id, no message text
    assert SENDER not in after and "0912345678" not in after and "menu" not in after


async def test_handoffs_streams_and_quota_are_read_from_redis_at_scrape_time(aredis: aioredis.Redis,
                                                                            fake_rasa: FakeRasa) -> None:
    await aredis.zadd(OPEN_SET, {"T1": 1, "T2": 2})
    await aredis.hset("gw:ticket:T1", mapping={"id": "T1", "claimed_by": "volunteer-7"})
    await aredis.hset("gw:ticket:T2", mapping={"id": "T2", "claimed_by": ""})
    await aredis.hset(QUOTA_KEY, "reply", '{"quota_type": "reply", "remain": "5", "total": "8"}')
    await aredis.xgroup_create("gw:out:web", "gateway", id="0", mkstream=True)
    for n in range(3):
        await aredis.xadd("gw:out:web", {"n": str(n)})
    client = await web_client(fake_rasa.url, aredis)
    try:
        text = await scrape(client)
    finally:
        await client.close()
    assert value(text, "troly_handoffs_open") == 2
    assert value(text, "troly_handoffs_unclaimed") == 1
    lag = value(text, "troly_stream_lag", stream="gw:out:web", group="gateway")
    assert lag is not None and lag >= 0  # the web relay's consumer may already have read them
    assert value(text, "troly_stream_pending", stream="gw:out:web", group="gateway") is not None
    assert value(text, "troly_zalo_oa_quota_left", quota_type="reply") is None  # only the Zalo OA gateway reports it


async def test_a_scrape_with_redis_down_answers_and_counts_the_error(fake_rasa: FakeRasa) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    client = await web_client(fake_rasa.url, dead)
    try:
        text = await scrape(client)
    finally:
        await client.close()
        await dead.aclose()
    assert value(text, "troly_handoffs_open") is None  # left out, not a stale or made-up value
    assert value(text, "troly_stream_lag", stream="gw:in:web", group="gateway") is None
    errors = value(text, "troly_redis_errors_total", component="scrape")
    assert errors is not None and errors >= 2


async def test_telegram_in_polling_mode_serves_health_and_metrics(aredis: aioredis.Redis, fake_rasa: FakeRasa) -> None:
    # polling takes no webhook calls, but a probe and a scraper still need /healthz and /metrics
    async with FakeTelegram() as tg_api:
        settings = telegram_settings(tg_api.base, tg_api.team_chat_id).model_copy(update={"mode": "polling"})
        gateway = TelegramGateway(settings, common(fake_rasa.url, GATEWAY_REDIS_URL), aredis)
        port, stop = free_port(), asyncio.Event()
        polling = asyncio.create_task(run_polling(gateway, "127.0.0.1", port, stop))
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(100):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                            status = health.status
                        break
                    except aiohttp.ClientConnectorError:
                        await asyncio.sleep(0.05)
                async with http.get(f"http://127.0.0.1:{port}/metrics") as scraped:
                    text = await scraped.text()
                async with http.post(f"http://127.0.0.1:{port}/webhooks/telegram", json={}) as webhook:
                    webhook_status = webhook.status
        finally:
            stop.set()
            await asyncio.wait_for(polling, 30)
    assert status == 200 and scraped.status == 200
    assert value(text, "troly_handoffs_open") is not None  # read from Redis at scrape time
    assert webhook_status == 404  # no webhook route in polling mode
