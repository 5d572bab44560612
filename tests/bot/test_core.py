"""The gateways' shared core: text cutting, numbered choices, settings, tickets and the stream consumer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.handoff import LOG_STREAM, PermanentFailure, TicketError, Tickets, consume
from bot.render import Button, Reply, numbered_choices, pick_number, split_text
from bot.settings import CommonSettings, SettingsError, TelegramSettings, ZaloOASettings


@pytest.mark.parametrize("limit", [40, 120, 2000])
def test_split_text_keeps_every_word_in_order_under_the_limit(limit: int) -> None:
    text = "Bước 1. Mở ứng dụng VNeID.\nBước 2: bấm Đăng nhập! " + " ".join(f"Câu {i} ngắn thôi." for i in range(90))
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_split_text_cuts_at_sentence_ends_and_hard_cuts_only_giant_words() -> None:
    parts = split_text("Một câu. " * 10 + "x" * 70, 30)
    assert parts[0].endswith(".") and all(len(p) <= 30 for p in parts)
    assert split_text("", 100) == [] and split_text("ngắn", 100) == ["ngắn"]
    with pytest.raises(ValueError):
        split_text("abc", 5)


@pytest.mark.parametrize(("text", "count", "expected"), [
    ("2", 3, 2), (" 2. ", 3, 2), ("số 1", 3, 1), ("so 3", 3, 3), ("4", 3, None), ("0", 3, None),
    ("2 bước", 3, None), ("hai", 3, None), ("", 3, None),
])
def test_pick_number(text: str, count: int, expected: int | None) -> None:
    assert pick_number(text, count) == expected


def test_numbered_choices_and_reply_parsing() -> None:
    reply = Reply.from_rasa({"text": "Chọn", "buttons": [{"title": "Có", "payload": "/affirm"}, {"title": "x"},
                                                          {"title": " ", "payload": "/deny"}], "custom": "bad"})
    assert reply.buttons == (Button("Có", "/affirm"),) and reply.custom == {} and reply.kind == ""
    assert numbered_choices((Button("Có", "/a"), Button("Không", "/b"))) == "Anh/chị nhắn số để chọn:\n1. Có\n2. Không"


@pytest.mark.parametrize("value", ["", "changeme", "fake-zalo-app-id-change-me"])
def test_gateway_settings_fail_fast_on_missing_or_placeholder_secrets(monkeypatch: Any, value: str) -> None:
    for name in ("ZALO_OA_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_OA_ACCESS_TOKEN",
                 "ZALO_OA_REFRESH_TOKEN"):
        monkeypatch.setenv(name, "real-looking-value")
    monkeypatch.setenv("ZALO_OA_APP_ID", value)
    with pytest.raises(SettingsError, match="ZALO_OA_APP_ID"):
        ZaloOASettings.from_env()


def test_telegram_settings_check_the_chat_id_and_the_webhook_secret(monkeypatch: Any) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
    monkeypatch.setenv("TELEGRAM_TEAM_CHAT_ID", "tổ công nghệ")
    with pytest.raises(SettingsError, match="chat id"):
        TelegramSettings.from_env()
    monkeypatch.setenv("TELEGRAM_TEAM_CHAT_ID", "-100123")
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramSettings.from_env()
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    assert TelegramSettings.from_env().team_chat_id == -100123


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_URL": ""}, "^REDIS_URL: is not set"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "^REDIS_URL: must start with redis://"),
        ({"FEEDBACK_ID_KEY": "fake-feedback-key-change-me"}, "^FEEDBACK_ID_KEY: is not set, or still the placeholder"),
        ({"RASA_TIMEOUT_S": "ba mươi"}, "^RASA_TIMEOUT_S: Input should be a valid number"),
        ({"RASA_TIMEOUT_S": "0"}, "^RASA_TIMEOUT_S: Input should be greater than 0"),
        ({"RASA_TIMEOUT_S": "nan"}, "^RASA_TIMEOUT_S: Input should be a finite number"),
        ({"RASA_TIMEOUT_S": "601"}, "^RASA_TIMEOUT_S: Input should be less than or equal to 600"),
        ({"RASA_URL": "127.0.0.1:5005"}, "^RASA_URL: must be an http"),
    ],
)
def test_common_gateway_settings_fail_fast(monkeypatch: Any, env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=message):
        CommonSettings.from_env()


def test_common_gateway_settings_carry_the_commune_and_the_pseudonym_key(monkeypatch: Any) -> None:
    monkeypatch.setenv("COMMUNE_ID", "xa-thu")
    monkeypatch.setenv("RASA_TIMEOUT_S", "12.5")
    common = CommonSettings.from_env()
    assert (common.commune_id, common.pseudonym_key, common.rasa_timeout_s) == (
        "xa-thu", b"test-pseudonym-key-0123456789abcdef", 12.5)
    assert "test-pseudonym-key" not in repr(common)  # secrets stay out of logs


async def test_tickets_one_per_conversation_and_claims_do_not_collide(aredis: Any) -> None:
    tickets = Tickets(aredis, "vi-du", lambda conv: "p-" + conv[-2:])
    first = await tickets.open("telegram:42", topic="dvc-login")
    assert (await tickets.open("telegram:42")).id == first.id  # a second request adds nothing
    await tickets.claim(first.id, "1", "Minh")
    await tickets.claim(first.id, "1", "Minh")  # harmless again
    with pytest.raises(TicketError, match="Minh"):
        await tickets.claim(first.id, "2", "Lan")
    await tickets.close(first.id)
    with pytest.raises(TicketError):
        await tickets.close(first.id)
    assert await tickets.active_for("telegram:42") is None and await tickets.open_tickets() == []
    assert (await tickets.open("telegram:42")).id != first.id  # a later request opens a new ticket
    log = [fields for _, fields in await aredis.xrange(LOG_STREAM)]
    assert [f["event"] for f in log] == ["opened", "claimed", "closed", "opened"]
    assert {f["channel"] for f in log} == {"telegram"} and log[0]["resident"] == "p-42"


async def test_a_failing_resident_does_not_hold_up_the_others(aredis: Any) -> None:
    for conv, text in [("zalo:a", "1"), ("zalo:b", "2"), ("zalo:a", "3"), ("zalo:c", "bad"), ("zalo:b", "4")]:
        await aredis.xadd("gw:out:test", {"conv": conv, "text": text})
    delivered: list[str] = []
    failing = {"zalo:a"}

    async def handle(fields: dict[str, str]) -> None:
        if fields["conv"] in failing:
            raise ConnectionError("channel down for this resident")
        if fields["text"] == "bad":
            raise PermanentFailure("unreachable")
        delivered.append(fields["text"])

    stop = asyncio.Event()
    task = asyncio.create_task(consume(aredis, "gw:out:test", "g", "c1", handle, stop, block_ms=50, retry_s=0.05))
    for _ in range(100):
        if delivered == ["2", "4"]:
            break
        await asyncio.sleep(0.02)
    assert delivered == ["2", "4"]  # b went through while a kept failing; a's messages were not skipped
    failing.clear()
    for _ in range(200):
        if len(delivered) == 4:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert delivered == ["2", "4", "1", "3"]  # a's messages, in their order, once the channel came back
    assert [f["text"] for _, f in await aredis.xrange("gw:dead")] == ["bad"]
    assert (await aredis.xpending("gw:out:test", "g"))["pending"] == 0


async def test_two_replicas_handle_one_conversation_one_message_at_a_time(aredis: Any) -> None:
    from bot.relay import build_relay
    from tests.auxil.fake_rasa import FakeRasa

    async with FakeRasa() as rasa:
        rasa.delay_s = 0.05
        delivered: list[str] = []

        async def deliver(conv: str, replies: list[Any]) -> None:
            delivered.extend(r.text for r in replies)

        replicas = [build_relay("web", aredis, rasa.url, deliver) for _ in range(2)]
        # "một" reaches replica A, "hai" replica B a moment later, "ba" replica A again
        tasks = []
        for n, text in enumerate(["một", "hai", "ba"]):
            tasks.append(asyncio.create_task(replicas[n % 2].incoming("web:resident-1", text, message_id=f"m{n}")))
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        for relay in replicas:
            await relay.rasa.aclose()

    assert rasa.max_in_flight == {"web:resident-1": 1}  # never two of its messages at once
    assert [r["message"] for r in rasa.received] == ["một", "hai", "ba"]
    assert [r["message_id"] for r in rasa.received] == ["m0", "m1", "m2"]
    assert delivered == ["Trả lời: một", "Trả lời: hai", "Trả lời: ba"]
    assert not await aredis.keys("gw:conv-lock:*")


async def test_messages_a_killed_replica_read_are_claimed_by_another(aredis: Any) -> None:
    await aredis.xadd("gw:out:test", {"conv": "zalo:a", "text": "cho bác"})
    await aredis.xgroup_create("gw:out:test", "g", id="0", mkstream=True)
    # replica "dead" read the message and was killed: it stays pending under a consumer that never comes back
    await aredis.xreadgroup("g", "dead", {"gw:out:test": ">"}, count=10)
    delivered: list[str] = []

    async def handle(fields: dict[str, str]) -> None:
        delivered.append(fields["text"])

    stop = asyncio.Event()
    task = asyncio.create_task(consume(aredis, "gw:out:test", "g", "alive", handle, stop, block_ms=50,
                                       retry_s=0.05, claim_idle_s=0.3))
    for _ in range(200):
        if delivered:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert delivered == ["cho bác"]
    assert (await aredis.xpending("gw:out:test", "g"))["pending"] == 0


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_a_message_rasa_refuses_is_set_aside_and_does_not_block_the_next(aredis: Any, status: int) -> None:
    from bot.rasa_client import RasaClient, RasaRejected
    from bot.relay import GAVE_UP_TEXT, build_relay
    from tests.auxil.fake_rasa import FakeRasa

    async with FakeRasa() as rasa:
        rasa.refused = {"tin hỏng 0912345678": status}
        with pytest.raises(RasaRejected, match=f"HTTP {status}"):
            await RasaClient(rasa.url).send("web:a", "tin hỏng 0912345678", "web")
        delivered: list[str] = []

        async def deliver(conv: str, replies: list[Any]) -> None:
            delivered.extend(r.text for r in replies)

        relay = build_relay("web", aredis, rasa.url, deliver)
        await relay.incoming("web:a", "tin hỏng 0912345678", message_id="m1")
        await relay.incoming("web:a", "xin chào", message_id="m2")
        assert delivered == [GAVE_UP_TEXT, "Trả lời: xin chào"]  # answered at once, not held behind the refused one
        assert await relay.state.held("web:a") == []
        (_, dead), = await aredis.xrange("gw:dead")
        assert dead["stream"] == "gw:in:web" and dead["error"] == f"Rasa answered HTTP {status}"
        assert "0912345678" not in dead["text"]  # masked before it is kept
        await relay.rasa.aclose()
