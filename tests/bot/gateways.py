"""Helpers to run the real gateways against the fakes in one event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.settings import CommonSettings, TelegramSettings, ZaloOASettings
from tests.auxil import fake_zalo_oa
from tests.auxil.fake_telegram import TOKEN

FEEDBACK_ID_KEY = "test-pseudonym-key-0123456789abcdef"

WEBHOOK_SECRET = "tg-secret-TEST"


def common(rasa_url: str, redis_url: str) -> CommonSettings:
    return CommonSettings(rasa_url=rasa_url, redis_url=redis_url, host="127.0.0.1", rasa_timeout_s=10,
                          feedback_id_key=FEEDBACK_ID_KEY)


def zalo_settings(api_base: str) -> ZaloOASettings:
    return ZaloOASettings(app_id=fake_zalo_oa.APP_ID, secret_key=fake_zalo_oa.OA_SECRET,
                          app_secret=fake_zalo_oa.APP_SECRET, access_token="access-1", refresh_token="refresh-1",
                          api_base=api_base, oauth_base=api_base, port=0)


def telegram_settings(api_base: str, team_chat_id: int, reminder_minutes: int = 10) -> TelegramSettings:
    return TelegramSettings(token=TOKEN, team_chat_id=team_chat_id, webhook_secret=WEBHOOK_SECRET, api_base=api_base,
                            mode="webhook", port=0, reminder_minutes=reminder_minutes)


async def client_for(app: Any) -> TestClient:
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Wait until `check()` is truthy (background consumers deliver asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def raw_post(client: Any, path: str, body: bytes, header: bytes) -> int:
    """POST with a header holding raw non-ASCII bytes (HTTP clients refuse to send such headers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 + header + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
                 + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])
