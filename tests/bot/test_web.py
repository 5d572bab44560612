"""The web gateway's API against a fake Rasa on loopback and a real Redis (db 10)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

import bot.relay
from bot.handoff import TEAM_STREAM, Bus
from bot.render import BUSY_TEXT
from bot.settings import CommonSettings, SettingsError
from bot.web.app import MAX_MESSAGE_CHARS, RELAY, create_app
from bot.web.settings import WebSettings
from tests.auxil.fake_rasa import FakeRasa
from tests.bot.conftest import GATEWAY_REDIS_URL

SENDER = "3f2a9c1e-5b7d-4e8a-9c0f-1a2b3c4d5e6f"
CONV = f"web:{SENDER}"


def web_settings(rasa_url: str, **changes: Any) -> WebSettings:
    common = CommonSettings(rasa_url=rasa_url, redis_url=GATEWAY_REDIS_URL, host="127.0.0.1", rasa_timeout_s=5.0,
                            feedback_id_key="test-pseudonym-key-0123456789abcdef")
    return WebSettings(common=common, **changes)


@pytest.fixture
async def make_client(aredis: aioredis.Redis, fake_rasa: FakeRasa) -> AsyncIterator[Callable[..., Any]]:
    """Start the web app (its Relay's background work included) against the fake Rasa; closed after the test."""
    clients: list[TestClient] = []

    async def make(redis: Any = None, **changes: Any) -> TestClient:
        app = create_app(web_settings(fake_rasa.url, **changes), redis or aredis)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        # closing runs the app's cleanup: the Relay's background work stops and its HTTP client closes
        await client.close()


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> TestClient:
    return await make_client()


async def say(client: TestClient, message: Any, sender: Any = SENDER) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": message})
    return response.status, await response.json()


async def wait_inbox(client: TestClient, sender: str = SENDER, timeout: float = 8.0) -> list[dict[str, Any]]:
    """Poll /api/inbox like the widget does until something arrives."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get("/api/inbox", params={"sender": sender})
        assert response.status == 200
        replies = (await response.json())["replies"]
        if replies:
            return replies
        await asyncio.sleep(0.1)
    raise AssertionError("nothing arrived in the inbox")


async def test_a_question_gets_the_replies_with_buttons(
    client: TestClient, fake_rasa: FakeRasa, aredis: aioredis.Redis
) -> None:
    status, body = await say(client, "  menu  ")
    assert status == 200
    reply_to = body["replies"][0].pop("reply_to")
    assert len(reply_to) == 32  # the server's id for a message the widget sent without one
    assert body == {
        "handoff": False,
        "replies": [
            {
                "text": "Anh/chị cần gì?",
                "kind": "menu",
                "custom": {"kind": "menu"},
                "buttons": [
                    {"title": "Kích hoạt VNeID", "payload": "/topic_a"},
                    {"title": "Nộp hồ sơ", "payload": "/topic_b"},
                ],
            }
        ],
    }
    assert fake_rasa.received[-1]["sender"] == CONV
    assert fake_rasa.received[-1]["message"] == "menu"
    assert fake_rasa.received[-1]["input_channel"] == "web"
    # drained: the next poll does not show the same replies again
    assert not await aredis.exists(f"gw:inbox:{CONV}")
    response = await client.get("/api/inbox", params={"sender": SENDER})
    assert (await response.json())["replies"] == []


async def test_a_button_payload_is_sent_to_rasa_as_is(client: TestClient, fake_rasa: FakeRasa) -> None:
    status, body = await say(client, '/choose_topic{"guide_id": "vneid-activate-level2"}')
    assert status == 200
    assert fake_rasa.texts() == ['/choose_topic{"guide_id": "vneid-activate-level2"}']
    assert body["replies"][0]["kind"] == "answer"


@pytest.mark.parametrize(
    ("body", "status", "error_part"),
    [
        ({"sender": SENDER, "message": ""}, 400, "chưa nhập câu hỏi"),
        ({"sender": SENDER, "message": " \n\t "}, 400, "chưa nhập câu hỏi"),
        ({"sender": SENDER, "message": "a" * (MAX_MESSAGE_CHARS + 1)}, 400, "dài quá"),
        ({"sender": SENDER, "message": 42}, 400, "không hợp lệ"),
        ({"sender": SENDER}, 400, "không hợp lệ"),
        ({"sender": "short", "message": "xin chào"}, 400, "Phiên trò chuyện"),
        ({"sender": "../../etc/passwd-xx", "message": "xin chào"}, 400, "Phiên trò chuyện"),
        ({"sender": "a" * 65, "message": "xin chào"}, 400, "Phiên trò chuyện"),
        ({"sender": 12345678, "message": "xin chào"}, 400, "Phiên trò chuyện"),
        (["not", "an", "object"], 400, "không hợp lệ"),
    ],
)
async def test_invalid_input_is_refused_in_vietnamese(
    client: TestClient, fake_rasa: FakeRasa, body: Any, status: int, error_part: str
) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status == status
    assert error_part in (await response.json())["error"]
    assert fake_rasa.received == []


async def test_the_longest_allowed_message_goes_through(client: TestClient, fake_rasa: FakeRasa) -> None:
    status, _ = await say(client, "ô" * MAX_MESSAGE_CHARS)
    assert status == 200
    assert len(fake_rasa.received[-1]["message"]) == MAX_MESSAGE_CHARS


async def test_broken_json_and_form_posts_are_refused(client: TestClient, fake_rasa: FakeRasa) -> None:
    response = await client.post("/api/chat", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "không hợp lệ" in (await response.json())["error"]
    # a plain form from another site cannot post (no JSON content type means no CORS preflight protection)
    response = await client.post(
        "/api/chat", data=json.dumps({"sender": SENDER, "message": "hi"}), headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    response = await client.post(
        "/api/chat", data=b'{"message": "' + b"x" * 40_000 + b'"}', headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert fake_rasa.received == []


async def test_sending_too_fast_is_limited_per_address(make_client: Callable[..., Any], fake_rasa: FakeRasa) -> None:
    client = await make_client(rate_per_minute=3)
    try:
        for i in range(3):
            status, _ = await say(client, f"câu {i}")
            assert status == 200
        status, body = await say(client, "câu 4")
        assert status == 429
        assert "chờ" in body["error"]
        assert fake_rasa.texts() == ["câu 0", "câu 1", "câu 2"]
        # another conversation from the same address is limited too: the limit is per IP, not per sender id
        status, _ = await say(client, "xin chào", sender="another-visitor-1234")
        assert status == 429
    finally:
        await client.close()


async def test_rasa_down_gets_the_busy_reply_and_the_message_is_answered_later(
    client: TestClient, fake_rasa: FakeRasa, aredis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.relay, "RETRY_EVERY_S", 0.2)
    fake_rasa.down = True
    status, body = await say(client, "kích hoạt VNeID")
    assert status == 200
    assert [r["text"] for r in body["replies"]] == [BUSY_TEXT]
    assert body["replies"][0]["kind"] == "error"
    held = [json.loads(x) for x in await aredis.lrange(f"gw:held:{CONV}", 0, -1)]
    assert [h["text"] for h in held] == ["kích hoạt VNeID"]

    fake_rasa.down = False
    replies = await wait_inbox(client)
    assert [r["text"] for r in replies] == ["Trả lời: kích hoạt VNeID"]
    assert not await aredis.exists(f"gw:held:{CONV}")


async def test_messages_held_while_rasa_is_down_keep_their_order(
    client: TestClient, fake_rasa: FakeRasa, aredis: aioredis.Redis
) -> None:
    fake_rasa.down = True
    await say(client, "một")
    await say(client, "hai")
    fake_rasa.down = False
    await client.app[RELAY].flush(CONV)  # what the retry loop does
    status, body = await say(client, "ba")
    assert status == 200
    assert fake_rasa.texts() == ["một", "hai", "ba"]
    assert "Trả lời: ba" in [r["text"] for r in body["replies"]]


async def test_a_volunteer_message_from_the_outbox_shows_up_in_the_inbox(
    client: TestClient, aredis: aioredis.Redis
) -> None:
    await Bus(aredis).to_resident(CONV, "text", "Chào bác, cháu là Lan, cháu giúp bác nhé.")
    replies = await wait_inbox(client)
    assert replies == [
        {
            "text": "Chào bác, cháu là Lan, cháu giúp bác nhé.",
            "kind": "volunteer",
            "custom": {"kind": "volunteer"},
            "buttons": [],
            "reply_to": "",
        }
    ]


async def test_during_a_handoff_messages_go_to_the_volunteer_not_to_rasa(
    client: TestClient, fake_rasa: FakeRasa, aredis: aioredis.Redis
) -> None:
    status, body = await say(client, "cho tôi gặp người thật")
    assert status == 200
    assert body["replies"][0]["kind"] == "handoff"
    assert body["handoff"] is True
    status, body = await say(client, "số điện thoại của tôi là 0912345678")
    assert status == 200
    assert body == {"replies": [], "handoff": True}
    assert fake_rasa.texts() == ["cho tôi gặp người thật"]
    team = await aredis.xrange(TEAM_STREAM)
    forwarded = [fields for _, fields in team if fields["type"] == "resident_message"]
    assert len(forwarded) == 1 and "0912345678" not in forwarded[0]["text"]
    response = await client.get("/api/inbox", params={"sender": SENDER})
    assert (await response.json())["handoff"] is True


async def test_the_inbox_refuses_a_bad_sender(client: TestClient) -> None:
    response = await client.get("/api/inbox", params={"sender": "bad id!"})
    assert response.status == 400
    response = await client.get("/api/inbox")
    assert response.status == 400


async def test_redis_down_answers_busy_without_a_backend_error(
    make_client: Callable[..., Any], fake_rasa: FakeRasa
) -> None:
    broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2)
    client = await make_client(redis=broken)
    try:
        status, body = await say(client, "xin chào")
        assert status == 503
        assert body == {"error": "Hệ thống đang bận, vui lòng thử lại sau ít phút."}
        response = await client.get("/healthz")
        assert response.status == 503
    finally:
        await client.close()
        await broken.aclose()


async def test_pages_carry_security_headers_and_the_widget_files(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = await page.text()
    assert 'src="/widget.js"' in html and 'lang="vi"' in html
    script = await client.get("/widget.js")
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    source = await script.text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "eval(" not in source
    style = await client.get("/widget.css")
    assert style.headers["Content-Type"] == "text/css; charset=utf-8"
    for response in (script, style, await client.get("/healthz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json()) == {"status": "ok"}


async def test_an_embedding_commune_site_gets_cors_and_other_sites_are_refused(
    make_client: Callable[..., Any], fake_rasa: FakeRasa
) -> None:
    client = await make_client(allowed_origins=("https://xa-vi-du.gov.vn",))
    try:
        preflight = await client.options(
            "/api/chat",
            headers={
                "Origin": "https://xa-vi-du.gov.vn",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://xa-vi-du.gov.vn"
        allowed = await client.post(
            "/api/chat", json={"sender": SENDER, "message": "xin chào"}, headers={"Origin": "https://xa-vi-du.gov.vn"}
        )
        assert allowed.status == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://xa-vi-du.gov.vn"

        other = await client.post(
            "/api/chat", json={"sender": SENDER, "message": "xin chào"}, headers={"Origin": "https://spam.example"}
        )
        assert other.status == 403
        assert "Access-Control-Allow-Origin" not in other.headers
        assert "chưa được phép" in (await other.json())["error"]
        assert fake_rasa.texts() == ["xin chào"]
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ()),
        ({"WEB_ALLOWED_ORIGIN": "https://xa-vi-du.gov.vn/"}, ("https://xa-vi-du.gov.vn",)),
        ({"WEB_ALLOWED_ORIGIN": "https://A.vn, http://b.vn:8080"}, ("https://a.vn", "http://b.vn:8080")),
    ],
)
def test_settings_read_allowed_origins(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: tuple[str, ...]
) -> None:
    monkeypatch.delenv("WEB_ALLOWED_ORIGIN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = WebSettings.from_env()
    assert settings.allowed_origins == expected
    assert settings.common.rasa_url.endswith("/webhooks/rest/webhook")


@pytest.mark.parametrize("value", ["xa-vi-du.gov.vn", "https://xa-vi-du.gov.vn/chat", "javascript:alert(1)"])
def test_settings_refuse_what_is_not_an_origin(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("WEB_ALLOWED_ORIGIN", value)
    with pytest.raises(SettingsError, match="WEB_ALLOWED_ORIGIN"):
        WebSettings.from_env()


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEB_PORT", "WEB_RATE_LIMIT", "WEB_TRUST_FORWARDED", "GATEWAY_HOST", "WEB_ALLOWED_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    settings = WebSettings.from_env()
    assert (settings.port, settings.rate_per_minute, settings.trust_forwarded) == (8084, 30, False)
    assert settings.common.host == "127.0.0.1"
    monkeypatch.setenv("WEB_PORT", "tám")
    with pytest.raises(SettingsError, match="WEB_PORT"):
        WebSettings.from_env()


@pytest.mark.parametrize(("value", "trusted"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_trusting_forwarded_addresses_is_a_yes_or_no(monkeypatch: pytest.MonkeyPatch, value: str, trusted: bool) -> None:
    monkeypatch.setenv("WEB_TRUST_FORWARDED", value)
    assert WebSettings.from_env().trust_forwarded is trusted


def test_a_typo_in_trust_forwarded_is_an_error_not_a_silent_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_TRUST_FORWARDED", "ture")
    with pytest.raises(SettingsError, match="^WEB_TRUST_FORWARDED: Input should be a valid boolean"):
        WebSettings.from_env()
