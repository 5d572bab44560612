"""Channels against the real assistant: Zalo OA and Telegram gateways, a trained Rasa model, and Redis restarts.

The gateways keep their state in a private redis-server with an append-only file, killed and restarted in the
middle of a ticket; the ticket, the pause and the stream positions must survive.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.state import connect
from bot.telegram.gateway import TelegramGateway
from bot.zalo.oa import ZaloOAGateway
from common.messages import say as say_text
from tests.auxil.fake_telegram import FakeTelegram
from tests.auxil.fake_zalo_oa import FakeZaloOA, event
from tests.bot.gateways import WEBHOOK_SECRET, client_for, common, eventually, telegram_settings, zalo_settings

pytestmark = pytest.mark.integration
VOLUNTEER = 7001


class RedisServer:
    """A redis-server of our own with appendfsync always, which the test can kill -9 and start again."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
                    "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # no clean shutdown: only the append-only file keeps the data
        self.proc.wait(10)


@pytest.fixture
def gateway_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


async def test_zalo_resident_handed_to_a_telegram_volunteer_with_real_rasa(
        stack: str, redis_db: redis.Redis, gateway_redis: RedisServer) -> None:
    client = connect(gateway_redis.url)
    settings = common(stack, gateway_redis.url)
    async with FakeZaloOA() as zalo_api, FakeTelegram(forum=True) as tg_api:
        tg_api.members[VOLUNTEER] = "member"
        zalo = await client_for(ZaloOAGateway(zalo_settings(zalo_api.base), settings, client).app())
        telegram = TelegramGateway(telegram_settings(tg_api.base, tg_api.team_chat_id), settings, client)
        tg = await client_for(telegram.webhook_app())
        user = f"it{int(time.time())}"

        async def say(text: str) -> None:
            body, headers = event(user, text)
            assert (await zalo.post("/webhooks/zalo-oa", data=body, headers=headers)).status == 200

        async def volunteer(update: dict[str, Any]) -> None:
            response = await tg.post("/webhooks/telegram", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
            assert response.status == 200

        try:
            # a question gets a sourced answer on Zalo ("…định danh điện tử mức 2?" alone is now asked back:
            # activating the account, or registering for level 2 first)
            await say("Cài VNeID xong thì kích hoạt tài khoản thế nào?")
            answer = await eventually(lambda: [t for t in zalo_api.texts(user) if "Nguồn:" in t], timeout=60,
                                      what="a sourced answer")
            assert "https://" in answer[0]

            # asking for a person opens a ticket in the team's group
            await say("cho tôi gặp người thật")
            cards = await eventually(lambda: [m for m in tg_api.sent(tg_api.team_chat_id) if "Phiếu #" in m["text"]],
                                     timeout=60, what="the ticket")
            thread = int(cards[0]["message_thread_id"])
            ticket_id = cards[0]["text"].split("#")[1].split()[0]
            # the resident's "a volunteer will write here" may reach Zalo after the card reaches the team
            await eventually(lambda: any(say_text("handoff.start")[:40] in t for t in zalo_api.texts(user)),
                             timeout=30, what="the handoff message on Zalo")

            # Redis dies mid-ticket and comes back from its append-only file
            gateway_redis.kill()
            gateway_redis.start()
            before = len(zalo_api.messages)
            await say("tôi không nhận được mã OTP 123456")
            relayed = await eventually(
                lambda: [m for m in tg_api.sent(tg_api.team_chat_id) if m["text"].startswith("Người dân:")],
                timeout=30, what="the resident's words in the thread after the restart")
            assert "123456" not in relayed[0]["text"]
            await asyncio.sleep(1.0)
            assert len(zalo_api.messages) == before  # the bot stayed silent

            # the volunteer claims and answers; the resident gets it on Zalo
            card_id = int(await eventually(lambda: client.hget(f"gw:ticket:{ticket_id}", "team_message"),
                                           what="the ticket linked to its card"))
            await volunteer(tg_api.button(VOLUNTEER, "Minh", f"t:claim:{ticket_id}", card_id))
            await volunteer(tg_api.group_text(VOLUNTEER, "Minh", "Bác bấm Gửi lại mã giúp cháu nhé", thread=thread))
            await eventually(lambda: any("Gửi lại mã" in t for t in zalo_api.texts(user)), timeout=30,
                             what="the volunteer's reply on Zalo")

            # closing hands the conversation back to the assistant, which asks for one rating
            await volunteer(tg_api.button(VOLUNTEER, "Minh", f"t:close:{ticket_id}", card_id))
            rating = await eventually(lambda: [m for _, m in zalo_api.messages if "attachment" in m
                                               and "hài lòng" in m.get("text", "").lower()],
                                      timeout=60, what="the rating question")
            buttons = rating[-1]["attachment"]["payload"]["buttons"]
            assert [b["title"] for b in buttons] == ["Hài lòng", "Bình thường", "Chưa hài lòng"]

            # tapping a button sends its payload back as text; the rating is stored as involving a volunteer
            await say(buttons[0]["payload"])
            await eventually(lambda: any(t.startswith("Cảm ơn anh/chị!") for t in zalo_api.texts(user)), timeout=60,
                             what="the thanks")
            stored = [fields for _, fields in redis_db.xrange("feedback:v1")
                      if fields.get("channel") == "zalo" and fields.get("kind") == "rating"]
            assert stored and stored[-1]["volunteer"] == "1" and stored[-1]["rating"] == "hai_long"
            assert user not in json.dumps(stored)

            # and the assistant answers questions again
            count = len(zalo_api.messages)
            await say("nộp lệ phí trực tuyến thế nào")
            await eventually(lambda: len(zalo_api.messages) > count, timeout=60, what="the assistant again")
        finally:
            await tg.close()
            await zalo.close()
            await client.aclose()
