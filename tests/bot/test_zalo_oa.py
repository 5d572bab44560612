"""Zalo OA gateway: signed webhooks, dedupe, non-text, token refresh, retries, numbered menus, Rasa outages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.handoff import PermanentFailure
from bot.quota import QUOTA_KEY, sent_on
from bot.render import BUSY_TEXT, NON_TEXT_TEXT, Button, Reply
from bot.zalo.oa import ZaloOAGateway, fit, render, signature
from tests.auxil import fake_zalo_oa
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_zalo_oa import FakeZaloOA, event
from tests.bot.conftest import GATEWAY_REDIS_URL
from tests.bot.gateways import client_for, common, eventually, raw_post, zalo_settings


@pytest.fixture
async def zalo(aredis: Any, fake_rasa: FakeRasa) -> AsyncIterator[tuple[Any, FakeZaloOA, ZaloOAGateway]]:
    async with FakeZaloOA() as api:
        gateway = ZaloOAGateway(zalo_settings(api.base), common(fake_rasa.url, GATEWAY_REDIS_URL), aredis)
        client = await client_for(gateway.app())
        yield client, api, gateway
        await client.close()


async def post(client: Any, user: str, text: str | None = None, **kw: Any) -> Any:
    body, headers = event(user, text, **kw)
    return await client.post("/webhooks/zalo-oa", data=body, headers=headers)


def test_signature_is_plain_sha256_of_app_id_body_timestamp_and_secret() -> None:
    import hashlib

    expected = hashlib.sha256(b"app" + b'{"a":1}' + b"1700000000000" + b"secret").hexdigest()
    assert signature("app", b'{"a":1}', "1700000000000", "secret") == f"mac={expected}"


async def test_a_question_is_answered_on_zalo(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, _ = zalo
    response = await post(client, "u1", "kích hoạt vneid")
    assert response.status == 200
    await eventually(lambda: api.texts("u1"), what="a reply on Zalo")
    assert api.texts("u1") == ["Trả lời: kích hoạt vneid"]
    assert fake_rasa.received[0]["sender"] == "zalo:u1" and fake_rasa.received[0]["input_channel"] == "zalo"


@pytest.mark.parametrize("headers", [{}, {"X-ZEvent-Signature": "mac=0000"}, "wrong-secret"])
async def test_a_forged_event_is_refused_and_nothing_is_processed(zalo: Any, fake_rasa: FakeRasa, headers: Any) -> None:
    client, api, _ = zalo
    if headers == "wrong-secret":
        body, headers = event("u1", "xin chào", secret="not-the-secret")
    else:
        body, _ = event("u1", "xin chào")
    response = await client.post("/webhooks/zalo-oa", data=body, headers=headers)
    assert response.status == 401
    await asyncio.sleep(0.3)
    assert fake_rasa.received == [] and api.messages == []


async def test_a_tampered_body_is_refused(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, _, _ = zalo
    body, headers = event("u1", "xin chào")
    response = await client.post("/webhooks/zalo-oa", data=body.replace(b"u1", b"u2"), headers=headers)
    assert response.status == 401


async def test_garbage_is_a_bad_request(zalo: Any) -> None:
    client, _, _ = zalo
    assert (await client.post("/webhooks/zalo-oa", data=b"{not json")).status == 400


async def test_a_replayed_msg_id_is_processed_once(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, _ = zalo
    body, headers = event("u1", "xin chào", msg_id="same-id")
    for _ in range(3):
        assert (await client.post("/webhooks/zalo-oa", data=body, headers=headers)).status == 200
    await eventually(lambda: api.messages, what="one reply")
    await asyncio.sleep(0.3)
    assert len(fake_rasa.received) == 1 and len(api.messages) == 1


@pytest.mark.parametrize("name", ["user_send_image", "user_send_sticker", "user_send_audio", "user_send_file"])
async def test_non_text_gets_a_friendly_reply_without_rasa(zalo: Any, fake_rasa: FakeRasa, name: str) -> None:
    client, api, _ = zalo
    await post(client, "u1", None, name=name)
    await eventually(lambda: api.messages, what="the non-text reply")
    assert api.texts("u1") == [NON_TEXT_TEXT] and fake_rasa.received == []


async def test_an_expired_token_is_refreshed_once_and_the_new_refresh_token_kept(zalo: Any, aredis: Any) -> None:
    client, api, _ = zalo
    api.expire_token()
    await post(client, "u1", "xin chào")
    await eventually(lambda: api.messages, what="the reply after a refresh")
    assert api.refreshes == 1
    assert await aredis.get("gw:zalo_oa:refresh_token") == "refresh-new-1"
    assert await aredis.get("gw:zalo_oa:access_token") == "access-new-1"
    # Zalo rotates refresh tokens: the next refresh must use the new one
    api.expire_token()
    await post(client, "u1", "lần nữa")
    await eventually(lambda: len(api.messages) == 2, what="the second reply")
    assert api.refreshes == 2


async def test_server_errors_are_retried_with_backoff(zalo: Any) -> None:
    client, api, _ = zalo
    api.fail_next = 2
    await post(client, "u1", "xin chào")
    await eventually(lambda: api.messages, timeout=10, what="the reply after retries")
    assert api.texts("u1") == ["Trả lời: xin chào"]


async def test_rasa_down_tells_the_resident_and_answers_later(zalo: Any, fake_rasa: FakeRasa, aredis: Any) -> None:
    client, api, gateway = zalo
    fake_rasa.down = True
    await post(client, "u1", "thủ tục khai sinh")
    await eventually(lambda: api.messages, what="the busy reply")
    assert api.texts("u1") == [BUSY_TEXT]
    assert json.loads((await aredis.lrange("gw:held:zalo:u1", 0, -1))[0])["text"] == "thủ tục khai sinh"
    fake_rasa.down = False
    replies = await gateway.relay.flush("zalo:u1")
    assert [r.text for r in replies or []] == ["Trả lời: thủ tục khai sinh"]
    assert await aredis.llen("gw:held:zalo:u1") == 0


async def test_the_retry_loop_delivers_held_messages_in_order(zalo: Any, fake_rasa: FakeRasa, monkeypatch: Any) -> None:
    import bot.relay

    monkeypatch.setattr(bot.relay, "RETRY_EVERY_S", 0.2)
    client, api, gateway = zalo
    fake_rasa.down = True
    await post(client, "u1", "một")
    await eventually(lambda: len(api.messages) == 1, what="busy reply")
    await post(client, "u1", "hai")
    await eventually(lambda: len(api.messages) == 2, what="second busy reply")
    fake_rasa.down = False
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.relay._retry_loop(stop))
    await eventually(lambda: len(api.messages) == 4, what="held messages answered")
    stop.set()
    await task
    assert api.texts("u1")[2:] == ["Trả lời: một", "Trả lời: hai"]


async def test_buttons_become_zalo_template_buttons() -> None:
    (message,), numbered = render(Reply("Chọn:", (Button("Có", "/affirm"), Button("Không", "/deny"))))
    assert numbered == []
    assert message["attachment"]["payload"]["buttons"] == [
        {"title": "Có", "type": "oa.query.hide", "payload": "/affirm"},
        {"title": "Không", "type": "oa.query.hide", "payload": "/deny"}]


async def test_more_than_five_choices_are_numbered_and_a_number_picks_one(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, gateway = zalo
    buttons = [{"title": f"Mục {i}", "payload": f"/choose_topic{{\"topic\": \"t{i}\"}}"} for i in range(1, 8)]
    fake_rasa.script = lambda sender, text: ([{"text": "Anh/chị cần gì?", "buttons": buttons}] if text == "menu"
                                             else [{"text": f"Đã chọn {text}"}])
    await post(client, "u1", "menu")
    await eventually(lambda: api.messages, what="the menu")
    assert "7. Mục 7" in api.texts("u1")[0] and "attachment" not in api.messages[0][1]
    await post(client, "u1", "3")
    await eventually(lambda: len(api.messages) == 2, what="the choice's answer")
    assert fake_rasa.texts()[-1] == '/choose_topic{"topic": "t3"}'


async def test_a_long_reply_is_split_under_2000_characters(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, _ = zalo
    long = " ".join(f"Câu số {i} hướng dẫn người dân làm thủ tục." for i in range(150))
    fake_rasa.script = lambda sender, text: [{"text": long}]
    await post(client, "u1", "dài")
    await eventually(lambda: len(api.messages) == 4, what="the parts")  # 150 sentences of ~45 chars: 4 parts
    parts = api.texts("u1")
    assert all(len(p) <= 2000 for p in parts) and all(p.endswith(".") for p in parts)
    assert " ".join(parts) == long


async def test_a_refused_user_is_set_aside_not_retried_forever(zalo: Any, aredis: Any) -> None:
    client, api, _ = zalo
    api.refused_users.add("u9")
    await post(client, "u9", "xin chào")
    await asyncio.sleep(0.5)
    assert api.messages == []
    assert fake_zalo_oa.APP_ID  # the refused send produced no retry storm:
    assert await aredis.xlen("gw:out:zalo") == 0


# --- replays, forged headers, personal data at rest ---------------------------------------------------------------


@pytest.mark.parametrize("age_s", [86400, 601, -400])
async def test_a_signed_but_stale_or_future_event_is_refused(zalo: Any, fake_rasa: FakeRasa, age_s: float) -> None:
    import time

    client, api, _ = zalo
    response = await post(client, "u1", "xin chào", sent_at=time.time() - age_s)

    assert response.status == 401
    await asyncio.sleep(0.3)
    assert fake_rasa.received == [] and api.messages == []


async def test_a_recent_event_is_accepted(zalo: Any, fake_rasa: FakeRasa) -> None:
    import time

    client, api, _ = zalo
    assert (await post(client, "u1", "xin chào", sent_at=time.time() - 30)).status == 200
    await eventually(lambda: api.messages, what="the reply")


async def test_an_event_without_msg_id_sent_three_times_is_answered_once(zalo: Any, fake_rasa: FakeRasa,
                                                                        aredis: Any) -> None:
    client, api, gateway = zalo
    gateway.settings = gateway.client.settings = gateway.settings.model_copy(update={"proactive": True})
    body, headers = event("u1", "xin chào", with_msg_id=False)
    for _ in range(3):
        assert (await client.post("/webhooks/zalo-oa", data=body, headers=headers)).status == 200
    await eventually(lambda: api.messages, what="one reply")
    await asyncio.sleep(0.3)

    assert len(fake_rasa.received) == 1 and len(api.messages) == 1
    assert api.kinds == ["proactive"]  # no message to reply to: only a proactive message reaches them


# --- Zalo's message rules: 8 free replies to each resident message within 48 h --------------------------------------

async def counted(aredis: Any, expected: dict[str, int]) -> bool:
    """The OA's sends counted so far today are `expected`."""
    return await sent_on(aredis) == expected


async def test_every_reply_names_the_residents_message(zalo: Any, fake_rasa: FakeRasa, aredis: Any) -> None:
    client, api, _ = zalo
    fake_rasa.script = lambda sender, text: [{"text": f"Phần {i}"} for i in range(3)]
    await post(client, "u1", "hỏi một", msg_id="zm-1")
    await eventually(lambda: len(api.messages) == 3, what="three replies")
    assert api.kinds == ["reply"] * 3 and api.replies_to == {"zm-1": 3}
    await post(client, "u1", "hỏi hai", msg_id="zm-2")
    await eventually(lambda: len(api.messages) == 6, what="three more")
    assert api.replies_to == {"zm-1": 3, "zm-2": 3}  # each resident message starts its own 8
    # the count is written after Zalo answers the send: wait for it as for the send
    await eventually(lambda: counted(aredis, {"reply": 6}), what="six replies counted")
    assert json.loads(await aredis.hget(QUOTA_KEY, "reply"))["remain"] == "5"


async def test_one_resident_message_never_gets_more_than_eight(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, _ = zalo
    fake_rasa.script = lambda sender, text: [{"text": f"Đoạn {i}."} for i in range(12)]
    await post(client, "u1", "hỏi dài", msg_id="zm-9")
    await eventually(lambda: api.messages, what="the replies")
    await asyncio.sleep(0.3)
    assert 1 <= len(api.messages) <= 8 and set(api.kinds) == {"reply"}
    assert "\n\n".join(api.texts("u1")).split("\n\n") == [f"Đoạn {i}." for i in range(12)]  # merged, all kept


def test_fit_merges_neighbours_and_keeps_buttons_last() -> None:
    buttons = {"type": "template", "payload": {"buttons": [{"title": "Có"}]}}
    parts = [{"text": "a"}, {"text": "b", "attachment": buttons}, {"text": "c"}, {"text": "d"}]
    assert fit(parts, 4) == parts
    assert fit(parts, 2) == [{"text": "a\n\nb", "attachment": buttons}, {"text": "c\n\nd"}]
    assert len(fit([{"text": "x" * 1500}] * 5, 2)) == 2


async def test_past_the_window_a_volunteer_is_told_and_nothing_paid_goes_out(zalo: Any, fake_rasa: FakeRasa,
                                                                               aredis: Any) -> None:
    from bot.handoff import TEAM_STREAM

    client, api, gateway = zalo
    await post(client, "u1", "tôi cần người thật", msg_id="zm-20")
    await eventually(lambda: api.messages, what="the handoff reply")
    ticket = await gateway.relay.tickets.active_for("zalo:u1")
    assert ticket is not None
    await aredis.set("gw:zalo_oa:replies:zm-20", "8")  # the 8 free replies are used up
    with pytest.raises(PermanentFailure, match="reply window"):  # set aside by the outbox consumer, not retried
        await gateway.relay.from_team({"conv": "zalo:u1", "type": "text", "text": "TNV: anh gọi lại nhé",
                                       "ticket": ticket.id})
    events = [f for _, f in await aredis.xrange(TEAM_STREAM)]
    assert {"type": "not_delivered", "ticket": ticket.id, "text": "reply_window"} in events
    assert api.kinds == ["reply"]  # the volunteer's words were not sent as a paid message


async def test_with_proactive_messages_enabled_the_volunteer_still_reaches_them(zalo: Any, fake_rasa: FakeRasa,
                                                                                aredis: Any) -> None:
    client, api, gateway = zalo
    gateway.settings = gateway.client.settings = gateway.settings.model_copy(update={"proactive": True})
    await post(client, "u1", "xin chào", msg_id="zm-30")
    await eventually(lambda: api.messages, what="the reply")
    await aredis.set("gw:zalo_oa:replies:zm-30", "8")
    await gateway.deliver("zalo:u1", [Reply(text="Tin của tình nguyện viên")])
    assert api.kinds == ["reply", "proactive"] and (await sent_on(aredis)).get("paid") == 1


@pytest.mark.parametrize("value", ["mac=ä".encode(), b"mac=\xff\xfe", "mac=чужой".encode(), b"\xe2\x80\xae"])
async def test_a_non_ascii_signature_is_refused_not_a_server_error(zalo: Any, fake_rasa: FakeRasa,
                                                                    value: bytes) -> None:
    client, _, _ = zalo
    body, _ = event("u1", "xin chào")

    assert await raw_post(client, "/webhooks/zalo-oa", body, b"X-ZEvent-Signature: " + value) == 401
    assert fake_rasa.received == []


async def test_a_held_message_is_kept_masked(zalo: Any, fake_rasa: FakeRasa, aredis: Any) -> None:
    client, api, gateway = zalo
    fake_rasa.down = True
    await post(client, "u1", "sđt 0912345678, CCCD 001203004567, mã OTP 482913, thẻ 4111 1111 1111 1111")
    await eventually(lambda: api.messages, what="the busy reply")

    [held] = await aredis.lrange("gw:held:zalo:u1", 0, -1)
    for raw in ("0912345678", "001203004567", "482913", "4111"):
        assert raw not in held
    item = json.loads(held)
    assert item["shared_secret"] is True and item["id"]
    fake_rasa.down = False
    async with gateway.relay.state.conversation("zalo:u1"):
        await gateway.relay.flush("zalo:u1")
    sent = fake_rasa.received[-1]
    assert "[SĐT]" in sent["message"] and "[CCCD]" in sent["message"] and "[THẺ]" in sent["message"]
    assert sent["metadata"] == {"shared_secret": True} and sent["message_id"] == item["id"]


async def test_the_zalo_msg_id_reaches_rasa_as_the_message_id(zalo: Any, fake_rasa: FakeRasa) -> None:
    client, api, _ = zalo
    await post(client, "u1", "xin chào", msg_id="zalo-msg-77")
    await eventually(lambda: fake_rasa.received, what="the message at Rasa")

    assert fake_rasa.received[0]["message_id"] == "zalo-msg-77"


async def test_an_accepted_event_is_in_redis_before_zalo_hears_200(zalo: Any, aredis: Any) -> None:
    client, _, _ = zalo
    await post(client, "u1", "xin chào", msg_id="kept-1")

    entries = await aredis.xrange("gw:in:zalo")
    assert [json.loads(fields["event"])["message"]["msg_id"] for _, fields in entries] == ["kept-1"]
