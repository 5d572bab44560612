"""The whole handoff on loopback: a resident on Zalo asks for a person, volunteers take it over from Telegram.

Real gateways (Zalo OA + Telegram with python-telegram-bot), real Redis, fake Zalo/Telegram APIs and a fake Rasa.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.handoff import LOG_STREAM
from bot.telegram.gateway import TelegramGateway
from bot.zalo.oa import ZaloOAGateway
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_telegram import FakeTelegram
from tests.auxil.fake_zalo_oa import FakeZaloOA, event
from tests.bot.conftest import GATEWAY_REDIS_URL
from tests.bot.gateways import (
    WEBHOOK_SECRET,
    client_for,
    common,
    eventually,
    raw_post,
    telegram_settings,
    zalo_settings,
)

VOLUNTEER, OTHER, STRANGER = 7001, 7002, 6666


@dataclass
class World:
    zalo: Any
    tg: Any
    zalo_api: FakeZaloOA
    tg_api: FakeTelegram
    rasa: FakeRasa
    telegram: TelegramGateway

    async def resident_says(self, text: str, user: str = "u1") -> None:
        body, headers = event(user, text)
        assert (await self.zalo.post("/webhooks/zalo-oa", data=body, headers=headers)).status == 200

    async def telegram_update(self, update: dict[str, Any], secret: str = WEBHOOK_SECRET) -> int:
        response = await self.tg.post("/webhooks/telegram", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        return response.status

    def team_messages(self) -> list[dict[str, Any]]:
        return self.tg_api.sent(self.tg_api.team_chat_id)


@pytest.fixture(params=[True, False], ids=["forum-topics", "reply-threads"])
async def world(request: Any, aredis: Any, fake_rasa: FakeRasa) -> AsyncIterator[World]:
    async with FakeZaloOA() as zalo_api, FakeTelegram(forum=request.param) as tg_api:
        tg_api.members.update({VOLUNTEER: "member", OTHER: "administrator"})
        settings = common(fake_rasa.url, GATEWAY_REDIS_URL)
        zalo = await client_for(ZaloOAGateway(zalo_settings(zalo_api.base), settings, aredis).app())
        telegram = TelegramGateway(telegram_settings(tg_api.base, tg_api.team_chat_id), settings, aredis)
        tg = await client_for(telegram.webhook_app())
        yield World(zalo, tg, zalo_api, tg_api, fake_rasa, telegram)
        await tg.close()
        await zalo.close()


async def open_ticket(world: World) -> tuple[dict[str, Any], int, dict[str, Any]]:
    await world.resident_says("cho tôi gặp người thật")
    cards = await eventually(lambda: [m for m in world.team_messages() if "Phiếu #" in m["text"]], what="a ticket")
    card = cards[0]
    message_id = await _message_id_of(world, card)
    where = {"thread": int(card["message_thread_id"])} if card.get("message_thread_id") else {"reply_to": message_id}
    return card, message_id, where


async def _message_id_of(world: World, card: dict[str, Any]) -> int:
    """The card's message id, once the gateway has linked it to the ticket (just after Telegram answered)."""

    async def linked() -> str:
        ticket = await world.telegram.relay.tickets.get("1")
        return ticket.team_message if ticket else ""

    return int(await eventually(linked, what="the ticket linked to its card"))


async def test_the_full_handoff_round_trip(world: World, aredis: Any) -> None:
    # 1. the assistant answers on Zalo
    await world.resident_says("kích hoạt vneid mức 2")
    await eventually(lambda: world.zalo_api.texts("u1"), what="the assistant's answer")
    assert world.zalo_api.texts("u1") == ["Trả lời: kích hoạt vneid mức 2"]

    # 2. the resident asks for a person: the ticket appears in the team group with the masked transcript
    card, message_id, where = await open_ticket(world)
    assert "Zalo OA" in card["text"] and "vneid-activate-level2" in card["text"]
    assert "Người dân: kích hoạt vneid mức 2" in card["text"]
    assert [b["text"] for b in card["reply_markup"]["inline_keyboard"][0]] == ["Nhận", "Đóng"]
    if world.tg_api.chats[world.tg_api.team_chat_id]["is_forum"]:
        assert world.tg_api.sent(method="createForumTopic")[0]["name"].startswith("#1 ")

    # 3. while the ticket is open the bot is silent; the resident's words (masked) go to the thread
    rasa_calls = len(world.rasa.received)
    await world.resident_says("số tôi 0912345678, cccd 001099012345")
    relayed = await eventually(lambda: [m for m in world.team_messages() if m["text"].startswith("Người dân:")],
                               what="the resident's message in the thread")
    assert "0912345678" not in relayed[0]["text"] and "001099012345" not in relayed[0]["text"]
    assert len(world.rasa.received) == rasa_calls
    zalo_count = len(world.zalo_api.messages)

    # 4. writing before claiming is refused; a stranger cannot claim
    assert await world.telegram_update(world.tg_api.group_text(VOLUNTEER, "Minh", "chào bác", **where)) == 200
    await eventually(lambda: any("Bấm Nhận" in m["text"] for m in world.team_messages()), what="claim first")
    assert await world.telegram_update(world.tg_api.button(STRANGER, "Lạ", "t:claim:1", message_id)) == 200
    refused = await eventually(lambda: world.tg_api.sent(method="answerCallbackQuery"), what="the refusal")
    assert "Chỉ thành viên" in refused[0]["text"]

    # 5. a volunteer claims; the resident is told; another volunteer cannot take it
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:claim:1", message_id))
    await eventually(lambda: any("Minh đã nhận" in t for t in world.zalo_api.texts("u1")), what="claimed notice")
    await world.telegram_update(world.tg_api.button(OTHER, "Lan", "t:claim:1", message_id))
    await eventually(lambda: any("đã có Minh nhận" in (c.get("text") or "")
                                 for c in world.tg_api.sent(method="answerCallbackQuery")), what="already claimed")

    # 6. the claiming volunteer's words reach the resident on Zalo; the other volunteer's do not
    await world.telegram_update(world.tg_api.group_text(OTHER, "Lan", "để em xem", **where))
    await world.telegram_update(world.tg_api.group_text(VOLUNTEER, "Minh", "Bác mở ứng dụng VNeID giúp cháu ạ",
                                                        **where))
    await eventually(lambda: any("Bác mở ứng dụng VNeID" in t for t in world.zalo_api.texts("u1")),
                     what="the volunteer's reply on Zalo")
    texts = world.zalo_api.texts("u1")[zalo_count:]
    assert "Minh (tình nguyện viên): Bác mở ứng dụng VNeID giúp cháu ạ" in texts
    assert not any("để em xem" in t for t in texts)
    assert len(world.rasa.received) == rasa_calls

    # 7. closing: the bot resumes, asks for a rating once, and answers questions again
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:close:1", message_id))
    await eventually(lambda: "/handoff_closed" in world.rasa.texts(), what="Rasa told of the close")
    rating = await eventually(lambda: [m for _, m in world.zalo_api.messages if m.get("text") == "Anh/chị có hài lòng?"],
                              what="the rating question")
    assert [b["title"] for b in rating[0]["attachment"]["payload"]["buttons"]] == ["Hài lòng", "Chưa hài lòng"]
    await world.resident_says("còn thủ tục nộp phí thì sao")
    await eventually(lambda: "Trả lời: còn thủ tục nộp phí thì sao" in world.zalo_api.texts("u1"),
                     what="the assistant answering again")

    # the dashboard's log has every step, with a pseudonym and never the Zalo id
    log = await aredis.xrange(LOG_STREAM)
    assert [e["event"] for _, e in log] == ["opened", "claimed", "first_reply", "closed"]
    assert all(e["resident"] and "u1" not in e["resident"] for _, e in log)


async def test_a_wrong_webhook_secret_is_refused_and_nothing_processed(world: World) -> None:
    for secret in ("", "wrong"):
        assert await world.telegram_update(world.tg_api.private_text(555, "xin chào"), secret=secret) == 403
    await asyncio.sleep(0.3)
    assert world.rasa.received == [] and world.tg_api.sent(555) == []


async def test_residents_can_use_the_assistant_in_a_private_telegram_chat(world: World) -> None:
    await world.telegram_update(world.tg_api.private_text(555, "menu"))
    menu = await eventually(lambda: world.tg_api.sent(555), what="the menu")
    keyboard = menu[0]["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Kích hoạt VNeID", "Nộp hồ sơ"]
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)
    await world.telegram_update(world.tg_api.button(555, "Dân", keyboard[1][0]["callback_data"], 1, chat_id=555))
    await eventually(lambda: "/topic_b" in world.rasa.texts(), what="the tapped payload")
    assert world.rasa.received[-1]["sender"] == "telegram:555"
    # the pressed message loses its buttons, and the same button pressed again does nothing
    await eventually(lambda: world.tg_api.sent(555, method="editMessageReplyMarkup"), what="buttons removed")
    calls = len(world.rasa.received)
    await world.telegram_update(world.tg_api.button(555, "Dân", keyboard[1][0]["callback_data"], 1, chat_id=555))
    await eventually(lambda: any("đã dùng" in m["text"] for m in world.tg_api.sent(555)), what="used button note")
    assert len(world.rasa.received) == calls
    # a button sent to one resident does nothing in another resident's chat
    await world.telegram_update(world.tg_api.button(556, "Khác", keyboard[0][0]["callback_data"], 1, chat_id=556))
    await eventually(lambda: world.tg_api.sent(556), what="the other chat's note")
    assert len(world.rasa.received) == calls
    await world.telegram_update(world.tg_api.private_photo(555))
    await eventually(lambda: any("chữ" in m["text"] for m in world.tg_api.sent(555)), what="the non-text reply")


async def test_unclaimed_tickets_get_one_reminder_and_commands_list_them(world: World) -> None:
    card, message_id, where = await open_ticket(world)
    world.telegram.desk.reminder_s = 0
    await world.telegram.desk.remind_once()
    await world.telegram.desk.remind_once()
    reminders = [m for m in world.team_messages() if m["text"].startswith("Nhắc:")]
    assert len(reminders) == 1
    await world.telegram_update(world.tg_api.command(VOLUNTEER, "Minh", "/tickets"))
    listing = await eventually(lambda: [m for m in world.team_messages() if m["text"].startswith("Phiếu đang mở")],
                               what="/tickets")
    assert "#1" in listing[0]["text"] and "CHƯA AI NHẬN" in listing[0]["text"]
    await world.telegram_update(world.tg_api.command(VOLUNTEER, "Minh", "/stats"))
    stats = await eventually(lambda: [m for m in world.team_messages() if m["text"].startswith("Hôm nay")],
                             what="/stats")
    assert "1 phiếu mở" in stats[0]["text"] and "1 đang mở" in stats[0]["text"]
    # a non-member asking in private gets nothing
    await world.telegram_update(world.tg_api.command(STRANGER, "Lạ", "/tickets", chat_id=STRANGER))
    await asyncio.sleep(0.3)
    assert world.tg_api.sent(STRANGER) == []


async def test_volunteers_look_procedures_up_with_tt(world: World) -> None:
    await world.telegram_update(world.tg_api.command(VOLUNTEER, "Minh", "/tt khai bao tam vang"))
    cards = await eventually(lambda: [m for m in world.team_messages() if m["text"].startswith("1/")], what="/tt")
    assert "Khai báo tạm vắng" in cards[0]["text"] and "mã 1.003677" in cards[0]["text"]
    assert "dữ liệu ngày" in cards[0]["text"] and "huyện" not in cards[0]["text"]
    await world.telegram_update(world.tg_api.command(VOLUNTEER, "Minh", "/tt"))
    await eventually(lambda: any(m["text"].startswith("Gõ /tt") for m in world.team_messages()), what="usage")
    await world.telegram_update(world.tg_api.command(VOLUNTEER, "Minh", "/tt zzzz qqqq"))
    await eventually(lambda: any("Không tìm thấy thủ tục" in m["text"] for m in world.team_messages()),
                     what="nothing found")
    await world.telegram_update(world.tg_api.command(STRANGER, "Lạ", "/tt tách hộ", chat_id=STRANGER))
    await asyncio.sleep(0.3)
    assert world.tg_api.sent(STRANGER) == []


async def test_a_volunteer_is_told_when_zalo_s_48_hour_window_has_passed(world: World, aredis: Any) -> None:
    card, message_id, where = await open_ticket(world)
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:claim:1", message_id))
    await eventually(lambda: any("Minh đã nhận" in t for t in world.zalo_api.texts("u1")), what="claimed")
    await aredis.set("gw:last_in:zalo:u1", "1000.0")
    before = len(world.zalo_api.messages)
    await world.telegram_update(world.tg_api.group_text(VOLUNTEER, "Minh", "bác còn đó không", **where))
    await eventually(lambda: any("48 giờ" in m["text"] for m in world.team_messages()), what="the window notice")
    assert len(world.zalo_api.messages) == before


async def test_a_volunteer_is_told_when_zalo_s_eight_replies_are_used_up(world: World, aredis: Any) -> None:
    card, message_id, where = await open_ticket(world)
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:claim:1", message_id))
    await eventually(lambda: any("Minh đã nhận" in t for t in world.zalo_api.texts("u1")), what="claimed")
    last = await aredis.get("gw:zalo_oa:last_msg:u1")
    await aredis.set(f"gw:zalo_oa:replies:{last}", "8")  # the resident's message got its 8 free replies
    before = len(world.zalo_api.messages)
    await world.telegram_update(world.tg_api.group_text(VOLUNTEER, "Minh", "bác còn đó không", **where))
    await eventually(lambda: any("CHƯA gửi được" in m["text"] for m in world.team_messages()), what="the notice")
    assert len(world.zalo_api.messages) == before and set(world.zalo_api.kinds) == {"reply"}


async def test_a_telegram_message_carries_its_id_to_rasa(world: World) -> None:
    update = world.tg_api.private_text(555, "xin chào")
    await world.telegram_update(update)
    await eventually(lambda: world.rasa.received, what="the message at Rasa")

    assert world.rasa.received[-1]["message_id"] == f"555:{update['message']['message_id']}"


async def test_a_telegram_update_delivered_twice_is_handled_once(world: World) -> None:
    update = world.tg_api.private_text(555, "xin chào")
    assert await world.telegram_update(update) == 200
    assert await world.telegram_update(update) == 200
    await eventually(lambda: world.tg_api.sent(555), what="the answer")
    await asyncio.sleep(0.3)

    assert world.rasa.texts() == ["xin chào"]


async def test_closing_a_ticket_sends_a_system_event_not_resident_text(world: World, aredis: Any) -> None:
    _, message_id, _ = await open_ticket(world)
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:claim:1", message_id))
    await world.telegram_update(world.tg_api.button(VOLUNTEER, "Minh", "t:close:1", message_id))
    await eventually(lambda: "/handoff_closed" in world.rasa.texts(), what="Rasa told of the close")

    closed = world.rasa.received[-1]
    assert closed["system_event"] == "handoff_closed"
    assert closed["message_id"] == "handoff-closed:1"
    assert closed["metadata"] == {"ticket": "1"}


@pytest.mark.parametrize("value", ["tg-sécret".encode(), b"\xff\xfe"])
async def test_a_non_ascii_telegram_secret_is_refused_not_a_server_error(world: World, value: bytes) -> None:
    import json

    body = json.dumps(world.tg_api.private_text(555, "xin chào")).encode()

    assert await raw_post(world.tg, "/webhooks/telegram", body, b"X-Telegram-Bot-Api-Secret-Token: " + value) == 403
    assert world.rasa.received == []
