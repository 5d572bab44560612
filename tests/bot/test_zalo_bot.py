"""The Zalo Bot Platform gateway, end to end on loopback: the real `zalo_bot.Bot` client against a fake Zalo Bot API,
a fake Rasa, and a real Redis."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from zalo_bot import Bot, Update

import bot.relay
from bot.handoff import Bus, PermanentFailure
from bot.render import BUSY_TEXT, NON_TEXT_TEXT
from bot.settings import CommonSettings, SettingsError, ZaloBotSettings
from bot.zalo.bot_platform import (
    CHANNEL,
    SECRET_HEADER,
    WEBHOOK_PATH,
    ZaloBotGateway,
    register_webhook,
    serve,
    wire,
)
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_zalo_bot import (
    TOKEN,
    FakeZaloBot,
    file_update,
    image_update,
    make_update,
    sticker_update,
    text_update,
    voice_update,
    webhook_body,
)
from tests.bot.conftest import GATEWAY_REDIS_URL
from tests.bot.gateways import raw_post

SECRET = "test-webhook-secret"
CHAT = "a1b2c3d4e5f6"
CONV = f"zalobot:{CHAT}"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloBot]:
    async with FakeZaloBot() as server:
        yield server


@pytest.fixture
async def zbot(zalo: FakeZaloBot) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, zalo.base_url)
    await client.initialize()
    yield client
    await client.shutdown()


def make_gateway(zbot: Bot, aredis: Any, fake_rasa: FakeRasa, secret: str = SECRET) -> ZaloBotGateway:
    return ZaloBotGateway(zbot, aredis, fake_rasa.url, secret=secret, send_backoff=(0.01, 0.02, 0.04),
                          max_retry_after=0.05)


@pytest.fixture
async def gateway(zbot: Bot, aredis: Any, fake_rasa: FakeRasa) -> AsyncIterator[ZaloBotGateway]:
    gw = make_gateway(zbot, aredis, fake_rasa)
    yield gw
    await gw.drain()
    await gw.aclose()


@pytest.fixture
async def client(gateway: ZaloBotGateway) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(gateway.app())) as test_client:
        yield test_client


async def post(client: TestClient, update: dict[str, Any], secret: str | None = SECRET) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await client.post(WEBHOOK_PATH, json=webhook_body(update), headers=headers)
    return response


async def say(client: TestClient, gateway: ZaloBotGateway, text: str, chat: str = CHAT) -> None:
    """A resident writes; wait until the gateway has finished with it."""
    response = await post(client, text_update(chat, text))
    assert response.status == 200
    await gateway.drain()


@pytest.fixture
async def running_relay(gateway: ZaloBotGateway, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The Relay's background work (outbox consumer, Rasa retry loop), retrying quickly."""
    monkeypatch.setattr(bot.relay, "RETRY_EVERY_S", 0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.relay.run(stop))
    yield
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_text_round_trip_through_the_real_client(client: TestClient, gateway: ZaloBotGateway,
                                                       zalo: FakeZaloBot, fake_rasa: FakeRasa) -> None:
    response = await post(client, text_update(CHAT, "xin chào"))
    assert response.status == 200
    assert (await response.json())["ok"] is True
    sent = await zalo.wait_sent(1)
    assert sent == [{"chat_id": CHAT, "text": "Trả lời: xin chào"}]
    assert fake_rasa.received[0]["sender"] == CONV
    assert fake_rasa.received[0]["input_channel"] == CHANNEL == "zalobot"


async def test_bare_update_without_the_ok_wrapper_is_accepted(client: TestClient, zalo: FakeZaloBot) -> None:
    response = await client.post(WEBHOOK_PATH, json=text_update(CHAT, "chào"), headers={SECRET_HEADER: SECRET})
    assert response.status == 200
    assert (await zalo.wait_sent(1))[0]["text"] == "Trả lời: chào"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
async def test_wrong_or_missing_secret_is_refused_and_nothing_processed(
        client: TestClient, gateway: ZaloBotGateway, zalo: FakeZaloBot, fake_rasa: FakeRasa, aredis: Any,
        secret: str | None) -> None:
    update = text_update(CHAT, "xin chào", msg_id="m-forged")
    response = await post(client, update, secret=secret)
    assert response.status == 403
    await gateway.drain()
    assert fake_rasa.received == []
    assert zalo.sent == []
    # not even marked as seen: the genuine delivery of the same id still goes through
    assert (await post(client, update)).status == 200
    await zalo.wait_sent(1)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"ok": true, "result": {"message": {"text": "x"}}}',
                                  b'{"message": {"message_id": "m1", "date": 1, "chat": {}}}'])
async def test_garbage_is_a_bad_request(client: TestClient, fake_rasa: FakeRasa, body: bytes) -> None:
    response = await client.post(WEBHOOK_PATH, data=body, headers={SECRET_HEADER: SECRET,
                                                                   "Content-Type": "application/json"})
    assert response.status == 400
    assert fake_rasa.received == []


async def test_a_redelivered_message_is_processed_once(client: TestClient, gateway: ZaloBotGateway,
                                                       zalo: FakeZaloBot, fake_rasa: FakeRasa) -> None:
    update = text_update(CHAT, "kích hoạt vneid", msg_id="m-42")
    first, second = await post(client, update), await post(client, update)
    assert (first.status, second.status) == (200, 200)
    assert (await second.json()).get("duplicate") is True
    await gateway.drain()
    assert fake_rasa.texts() == ["kích hoạt vneid"]
    assert len(zalo.sent) == 1


@pytest.mark.parametrize("factory", [image_update, sticker_update, voice_update, file_update,
                                     lambda chat: make_update("message.unsupported.received", chat)])
async def test_non_text_gets_a_friendly_reply_without_asking_rasa(client: TestClient, gateway: ZaloBotGateway,
                                                                  zalo: FakeZaloBot, fake_rasa: FakeRasa,
                                                                  factory: Any) -> None:
    assert (await post(client, factory(CHAT))).status == 200
    await gateway.drain()
    assert zalo.sent == [{"chat_id": CHAT, "text": NON_TEXT_TEXT}]
    assert fake_rasa.received == []


async def test_buttons_are_numbered_and_a_number_sends_the_payload(client: TestClient, gateway: ZaloBotGateway,
                                                                   zalo: FakeZaloBot, fake_rasa: FakeRasa) -> None:
    await say(client, gateway, "menu")
    assert zalo.texts() == ["Anh/chị cần gì?\n\nAnh/chị nhắn số để chọn:\n1. Kích hoạt VNeID\n2. Nộp hồ sơ"]
    await post(client, sticker_update(CHAT))  # the "text only" notice does not cancel the list
    await gateway.drain()
    await say(client, gateway, "2")
    assert fake_rasa.texts()[-1] == "/topic_b"
    # that answer had no choices: a later "1" is just text again
    await say(client, gateway, "1")
    assert fake_rasa.texts()[-1] == "1"


async def test_a_number_outside_the_list_is_sent_as_text(client: TestClient, gateway: ZaloBotGateway,
                                                         fake_rasa: FakeRasa) -> None:
    await say(client, gateway, "menu")
    await say(client, gateway, "5")
    assert fake_rasa.texts()[-1] == "5"


async def test_a_long_reply_is_split_at_sentence_ends(client: TestClient, gateway: ZaloBotGateway,
                                                      zalo: FakeZaloBot, fake_rasa: FakeRasa) -> None:
    sentence = "Anh/chị mở ứng dụng VNeID, chọn mục Định danh điện tử và làm theo hướng dẫn trên màn hình. "
    long_text = (sentence * 60).strip()
    assert 4400 < len(long_text) < 6000
    fake_rasa.script = lambda sender, text: [{"text": long_text, "custom": {"kind": "answer"}}]
    await say(client, gateway, "hướng dẫn chi tiết")
    parts = zalo.texts()
    assert len(parts) == 3
    assert all(len(p) <= 2000 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == long_text


async def test_send_failures_are_retried(client: TestClient, gateway: ZaloBotGateway, zalo: FakeZaloBot) -> None:
    zalo.fail_next(2, status=500)
    zalo.rate_limit_next(1, retry_after=1)
    await say(client, gateway, "xin chào")
    assert zalo.texts() == ["Trả lời: xin chào"]
    assert zalo.calls.count("sendMessage") == 4


@pytest.mark.parametrize(("status", "calls"), [(400, 1), (403, 1), (200, 4)])
async def test_refusals_are_permanent_failures(gateway: ZaloBotGateway, zalo: FakeZaloBot, status: int,
                                               calls: int) -> None:
    # 400/403: the chat is gone or blocked the bot; HTTP 200 with "ok": false reaches us as a missing result
    zalo.fail_next(10, status=status)
    with pytest.raises(PermanentFailure):
        await gateway.send_text(CHAT, "Trả lời")
    assert zalo.calls.count("sendMessage") == calls


async def test_a_message_zalo_cannot_take_now_is_queued_and_sent_later(
        client: TestClient, gateway: ZaloBotGateway, zalo: FakeZaloBot, aredis: Any,
        running_relay: None) -> None:
    zalo.fail_next(4, status=502)  # the first try and all three retries
    await say(client, gateway, "xin chào")
    # the outbox consumer picks it up and delivers it once Zalo answers again
    sent = await zalo.wait_sent(1)
    assert sent == [{"chat_id": CHAT, "text": "Trả lời: xin chào"}]
    assert zalo.calls.count("sendMessage") == 5


async def test_rasa_down_tells_the_resident_and_answers_when_back(
        client: TestClient, gateway: ZaloBotGateway, zalo: FakeZaloBot, fake_rasa: FakeRasa, aredis: Any,
        running_relay: None) -> None:
    await say(client, gateway, "menu")
    fake_rasa.down = True
    await say(client, gateway, "2")
    assert zalo.texts()[-1] == BUSY_TEXT
    # the busy notice leaves the list valid: the resident may still pick from it
    await say(client, gateway, "1")
    assert [item["text"] for item in await gateway.state.held(CONV)] == ["/topic_b", "/topic_a"]
    fake_rasa.down = False
    await zalo.wait_sent(5)
    assert zalo.texts()[-2:] == ["Trả lời: /topic_b", "Trả lời: /topic_a"]
    assert fake_rasa.texts()[-2:] == ["/topic_b", "/topic_a"]
    assert await gateway.state.held(CONV) == []


async def test_handoff_pauses_the_bot_and_forwards_to_the_team(client: TestClient, gateway: ZaloBotGateway,
                                                               zalo: FakeZaloBot, fake_rasa: FakeRasa,
                                                               aredis: Any) -> None:
    await say(client, gateway, "menu")
    await say(client, gateway, "cho tôi gặp người thật")
    ticket = await gateway.relay.tickets.active_for(CONV)
    assert ticket is not None and ticket.status == "open"
    assert zalo.texts()[-1] == "Em sẽ chuyển anh/chị tới tình nguyện viên."
    asked = len(fake_rasa.received)
    await say(client, gateway, "tôi không nhận được mã OTP")
    await say(client, gateway, "2")  # not a menu choice any more: a volunteer is reading
    assert len(fake_rasa.received) == asked
    team = await aredis.xrange("gw:team")
    resident = [f for _, f in team if f["type"] == "resident_message"]
    assert [f["text"] for f in resident] == ["tôi không nhận được mã OTP", "2"]
    assert {f["ticket"] for f in resident} == {ticket.id}
    # an image while a volunteer helps: they are told, the resident gets the text-only note
    await post(client, image_update(CHAT))
    await gateway.drain()
    notes = [f["text"] for _, f in await aredis.xrange("gw:team") if f["type"] == "resident_message"]
    assert notes[-1].startswith("[Người dân gửi ảnh")
    assert zalo.texts()[-1] == NON_TEXT_TEXT


async def test_numbers_go_to_the_volunteer_while_a_ticket_is_open(client: TestClient, gateway: ZaloBotGateway,
                                                                  zalo: FakeZaloBot, fake_rasa: FakeRasa,
                                                                  aredis: Any) -> None:
    fake_rasa.script = lambda sender, text: [{
        "text": "Em đã báo tình nguyện viên.", "custom": {"kind": "handoff"},
        "buttons": [{"title": "Huỷ yêu cầu", "payload": "/cancel_handoff"}]}]
    await say(client, gateway, "gặp người hỗ trợ")
    assert zalo.texts()[-1].endswith("1. Huỷ yêu cầu")
    await say(client, gateway, "1")
    assert fake_rasa.texts() == ["gặp người hỗ trợ"]
    assert [f["text"] for _, f in await aredis.xrange("gw:team") if f["type"] == "resident_message"] == ["1"]


async def test_volunteer_words_reach_the_resident_through_the_outbox(gateway: ZaloBotGateway, zalo: FakeZaloBot,
                                                                     aredis: Any, running_relay: None) -> None:
    await Bus(aredis).to_resident(CONV, "text", "Chào anh/chị, em là Lan, em giúp anh/chị nhé.")
    sent = await zalo.wait_sent(1)
    assert sent == [{"chat_id": CHAT, "text": "Chào anh/chị, em là Lan, em giúp anh/chị nhé."}]


async def test_messages_of_one_chat_reach_rasa_in_order(client: TestClient, gateway: ZaloBotGateway,
                                                        fake_rasa: FakeRasa) -> None:
    texts = [f"câu {i}" for i in range(8)]
    for text in texts:
        assert (await post(client, text_update(CHAT, text))).status == 200
    await gateway.drain()
    assert fake_rasa.texts() == texts


async def test_polling_mode_processes_updates(zbot: Bot, aredis: Any, fake_rasa: FakeRasa,
                                              zalo: FakeZaloBot) -> None:
    gw = make_gateway(zbot, aredis, fake_rasa, secret="")
    assert all(r.resource.canonical != WEBHOOK_PATH for r in gw.app().router.routes())
    stop = asyncio.Event()
    gw.start_intake()  # as serve() does through the app: polled updates are kept, then handled
    poller = asyncio.create_task(gw.poll(stop))
    try:
        update = text_update(CHAT, "chào anh/chị", msg_id="p-1")
        zalo.push_update(update)
        zalo.push_update(update)  # redelivered
        zalo.push_update(sticker_update(CHAT))
        await zalo.wait_sent(2)
        await asyncio.sleep(0.1)
        await gw.drain()
        assert zalo.texts() == ["Trả lời: chào anh/chị", NON_TEXT_TEXT]
        assert fake_rasa.texts() == ["chào anh/chị"]
    finally:
        stop.set()
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        await gw.drain()
        await gw.stop_intake()
        await gw.aclose()


async def test_sdk_webhook_helpers_break_inside_a_loop_and_ours_work(zbot: Bot, zalo: FakeZaloBot) -> None:
    # Bot.set_webhook/get_webhook_info call asyncio.run(): impossible inside the gateway's running loop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "coroutine … was never awaited": the SDK's leak
        with pytest.raises(RuntimeError, match="asyncio.run"):
            zbot.set_webhook("https://gw.example.invalid/webhooks/zalo-bot", SECRET)
        with pytest.raises(RuntimeError, match="asyncio.run"):
            zbot.get_webhook_info()
        gc.collect()
    assert zalo.webhook == {}
    # Message.reply_text returns a coroutine: code that does not await it never sends anything
    pending = Update.de_json(text_update(CHAT, "xin chào"), zbot).message.reply_text("chào anh/chị")
    assert inspect.iscoroutine(pending)
    pending.close()
    assert zalo.sent == []
    await register_webhook(zbot, "https://gw.example.invalid/webhooks/zalo-bot", SECRET)
    assert zalo.webhook["url"] == "https://gw.example.invalid/webhooks/zalo-bot"
    assert zalo.webhook["secret_token"] == SECRET
    with pytest.raises(SettingsError):
        await register_webhook(zbot, "http://gw.example.invalid/webhooks/zalo-bot", SECRET)


async def test_healthz(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json()) == {"status": "ok"}


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_the_gateway_process_serves_and_stops_cleanly(zalo: FakeZaloBot, fake_rasa: FakeRasa, aredis: Any,
                                                            mode: str) -> None:
    settings = ZaloBotSettings(token=TOKEN, webhook_secret=SECRET if mode == "webhook" else "",
                               api_base=zalo.base_url, mode=mode, port=0)
    common = CommonSettings(rasa_url=fake_rasa.url, redis_url=GATEWAY_REDIS_URL, host="127.0.0.1",
                            rasa_timeout_s=5)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, common, "https://gw.example.invalid/webhooks/zalo-bot", stop))
    if mode == "polling":
        zalo.push_update(text_update(CHAT, "chào", msg_id="serve-1"))
        await zalo.wait_sent(1)
        assert zalo.webhook == {}
    else:
        for _ in range(100):
            if zalo.webhook:
                break
            await asyncio.sleep(0.02)
        assert zalo.webhook["url"] == "https://gw.example.invalid/webhooks/zalo-bot"
    stop.set()
    await asyncio.wait_for(server, 10)
    assert zalo.calls[0] == "getMe"  # the token is checked at start-up


@pytest.mark.parametrize("value", ["sécret".encode(), b"\xff\xfe", "тайна".encode()])
async def test_a_non_ascii_secret_header_is_refused_not_a_server_error(client: TestClient, fake_rasa: FakeRasa,
                                                                        value: bytes) -> None:
    import json

    body = json.dumps(webhook_body(text_update(CHAT, "xin chào"))).encode()

    assert await raw_post(client, WEBHOOK_PATH, body, SECRET_HEADER.encode() + b": " + value) == 403
    assert fake_rasa.received == []


async def test_an_accepted_update_is_kept_before_zalo_hears_200(client: TestClient, gateway: ZaloBotGateway,
                                                                aredis: Any, fake_rasa: FakeRasa) -> None:
    response = await post(client, text_update(CHAT, "xin chào", msg_id="kept-zb-1"))
    assert response.status == 200
    assert [f["conv"] for _, f in await aredis.xrange("gw:in:zalobot")] == [CONV]
    await gateway.drain()
    assert fake_rasa.received[0]["message_id"] == "kept-zb-1"


@pytest.mark.parametrize("factory", [lambda: text_update(CHAT, "chào", msg_id="w-1"), lambda: sticker_update(CHAT)])
def test_a_polled_update_is_kept_as_json_that_parses_back(zbot: Bot, factory: Any) -> None:
    # the SDK's own to_dict() leaves a Message object inside, which json.dumps refuses
    original = factory()
    update = Update.de_json(original, zbot)
    again = Update.de_json(json.loads(json.dumps(wire(update))), zbot)
    assert again.message.text == original["message"].get("text")
    assert again.message.chat.id == CHAT and again.message.message_id == original["message"]["message_id"]
    assert again.api_kwargs["event_name"] == original["event_name"]
