"""The resident REST channel: masking, one object per reply, and the webhook served by a real Sanic on loopback."""

from __future__ import annotations

import asyncio
import re
import socket
import unicodedata
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage, register
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered
from sanic import Sanic

from rasa_addons.channel import (
    BUSY_TEXT,
    COMMAND_REFUSED_TEXT,
    MAX_STORED_CHARS,
    NO_REPLY_TEXT,
    SECRET_WARNING,
    ReplyCollector,
    ResidentRestInput,
    command_of,
    prepare_text,
)
from rasa_addons.reliability import ActionServerUnavailable, TrackerStoreUnavailable

CCCD = "001203004567"
TWELVE_DIGITS = re.compile(r"\d(?:[ .\-]?\d){11}")

# --- prepare_text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked", "info"),
    [
        (f"CCCD của tôi là {CCCD}", "CCCD của tôi là [CCCD]", {"pii_masked": True}),
        ("số căn cước 001 203 004 567 nhé", "số căn cước [CCCD] nhé", {"pii_masked": True}),
        ("sđt em 0912 345 678", "sđt em [SĐT]", {"pii_masked": True}),
        ("gọi lại +84912345678 giúp", "gọi lại [SĐT] giúp", {"pii_masked": True}),
        ("mã OTP là 483920", "mã OTP là [MÃ]", {"pii_masked": True, "shared_secret": True}),
        ("mã xác nhận 4821", "mã xác nhận [MÃ]", {"pii_masked": True, "shared_secret": True}),
        ("  482913 ", "[MÃ]", {"pii_masked": True, "shared_secret": True}),
        ("lệ phí 50.000 đồng", "lệ phí 50.000 đồng", {}),
        ("xin chào", "xin chào", {}),
        ("", "", {}),
    ],
)
def test_prepare_text_masks_personal_data(raw: str, masked: str, info: dict[str, Any]) -> None:
    assert prepare_text(raw) == (masked, info)


@pytest.mark.parametrize("raw", [None, 123, 4.5, ["xin chào"], {"text": "xin chào"}, b"xin chao"])
def test_prepare_text_flags_non_text(raw: Any) -> None:
    assert prepare_text(raw) == ("", {"input_problem": "non_text"})


def test_prepare_text_cuts_overlong_text() -> None:
    text, info = prepare_text("đăng ký " * 1000)

    assert len(text) == MAX_STORED_CHARS
    assert info == {"input_problem": "too_long"}


def test_prepare_text_masks_a_number_inside_the_kept_part() -> None:
    text, info = prepare_text(f"cccd {CCCD} " + "a" * MAX_STORED_CHARS)

    assert text.startswith("cccd [CCCD] a")
    assert info == {"input_problem": "too_long", "pii_masked": True}


@pytest.mark.parametrize("kept_digits", [6, 7, 8, 11])
def test_prepare_text_never_passes_on_part_of_a_cccd(kept_digits: int) -> None:
    # masking runs before the cut, so a CCCD straddling MAX_STORED_CHARS is masked whole
    text, info = prepare_text("a" * (MAX_STORED_CHARS - kept_digits - 1) + " " + CCCD)

    assert CCCD[:kept_digits] not in text
    assert not any(ch.isdigit() for ch in text)
    assert text.endswith(" [CCCD]")
    assert info == {"pii_masked": True}


@pytest.mark.parametrize("overflow", [1, 3, 6])
def test_prepare_text_cut_falls_inside_the_placeholder_not_the_number(overflow: int) -> None:
    # long enough that the masked text is still cut, right through the "[CCCD]" placeholder
    raw = "a" * (MAX_STORED_CHARS + overflow - len("[CCCD]") - 1) + " " + CCCD

    text, info = prepare_text(raw)

    assert len(text) == MAX_STORED_CHARS
    assert not any(ch.isdigit() for ch in text)
    assert text.endswith(" " + "[CCCD]"[: len("[CCCD]") - overflow])
    assert info == {"pii_masked": True, "input_problem": "too_long"}


def test_prepare_text_normalises_unicode() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký")

    text, _ = prepare_text(f"  {decomposed}\u200b  tạm   trú ")

    assert text == "Đăng ký tạm trú"


# --- ReplyCollector -------------------------------------------------------------------------------------------

BUTTONS = [{"title": "Kích hoạt VNeID", "payload": '/choose_topic{"topic": "vneid-activate"}'}]


async def test_collector_merges_text_buttons_and_custom_into_one_object() -> None:
    collector = ReplyCollector()

    await collector.send_response("u1", {"text": "Xin chào!", "buttons": BUTTONS, "custom": {"kind": "smalltalk"}})

    assert collector.messages == [
        {"recipient_id": "u1", "text": "Xin chào!", "buttons": BUTTONS, "custom": {"kind": "smalltalk"}}
    ]


async def test_collector_takes_a_rasa_bot_utterance_as_rasa_sends_it() -> None:
    utterance = BotUttered(
        "Anh/chị chọn chủ đề nhé",
        data={"buttons": BUTTONS, "custom": {"kind": "menu", "topic": None}},
        metadata={"utter_action": "utter_greet"},
    )
    collector = ReplyCollector()

    await collector.send_response("u1", utterance.message())

    assert collector.messages == [
        {
            "recipient_id": "u1",
            "text": "Anh/chị chọn chủ đề nhé",
            "buttons": BUTTONS,
            "custom": {"kind": "menu", "topic": None},
        }
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": "chỉ chữ"}, {"text": "chỉ chữ", "custom": {}}),
        ({"text": None, "custom": {"kind": "answer"}}, {"text": "", "custom": {"kind": "answer"}}),
        ({"json_message": {"kind": "error"}}, {"text": "", "custom": {"kind": "error"}}),
        ({"text": "a", "custom": "not a dict"}, {"text": "a", "custom": {}}),
        ({"text": "a", "buttons": []}, {"text": "a", "custom": {}}),
        (
            {"text": "ảnh", "image": "https://example.invalid/a.png", "quick_replies": [{"title": "x"}]},
            {"text": "ảnh", "image": "https://example.invalid/a.png", "quick_replies": [{"title": "x"}], "custom": {}},
        ),
    ],
)
async def test_collector_shapes(message: dict[str, Any], expected: dict[str, Any]) -> None:
    collector = ReplyCollector()

    await collector.send_response("u1", message)

    assert collector.messages == [{"recipient_id": "u1", **expected}]


async def test_collector_keeps_one_object_per_reply_and_copies_custom() -> None:
    custom = {"kind": "answer"}
    collector = ReplyCollector()

    await collector.send_response("u1", {"text": "một", "custom": custom})
    await collector.send_response("u1", {"text": "hai"})
    custom["kind"] = "changed later"

    assert [m["text"] for m in collector.messages] == ["một", "hai"]
    assert collector.messages[0]["custom"] == {"kind": "answer"}


def test_collector_and_channel_are_named_rest() -> None:
    assert ReplyCollector.name() == "rest"
    assert ResidentRestInput.name() == "rest"


# --- the webhook ----------------------------------------------------------------------------------------------

Behaviour = Callable[[UserMessage], Awaitable[None]]


async def say_hello(message: UserMessage) -> None:
    """What Rasa does for a greeting: two bot utterances through the output channel."""
    for utterance in (
        BotUttered("Xin chào anh/chị!", data={"buttons": BUTTONS, "custom": {"kind": "smalltalk"}}),
        BotUttered("Anh/chị cần hỏi thủ tục nào ạ?", data={"custom": {"kind": "smalltalk"}}),
    ):
        await message.output_channel.send_response(message.sender_id, utterance.message())


@dataclass
class FakeAgent:
    """Stands in for rasa.core.agent.Agent: records each UserMessage and runs a scripted behaviour."""

    behaviour: Behaviour = say_hello
    received: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await self.behaviour(message)


@dataclass
class Webhook:
    agent: FakeAgent
    base_url: str
    session: aiohttp.ClientSession

    async def post(self, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        if body is not None:
            kwargs["json"] = body
        async with self.session.post(f"{self.base_url}/webhooks/rest/webhook", **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def webhook(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Webhook]:
    """The channel mounted the way `rasa run` mounts it, served by Sanic on a free loopback port."""
    # test mode lets several apps start in one process (what sanic-testing does; it is not installed here)
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"resident_rest_test_{uuid.uuid4().hex}")
    app.ctx.agent = FakeAgent()
    register([ResidentRestInput()], app, route="/webhooks/")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    await server.start_serving()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield Webhook(app.ctx.agent, f"http://127.0.0.1:{port}", session)
    server.close()
    await server.wait_closed()
    sock.close()


async def test_health_answers(webhook: Webhook) -> None:
    async with webhook.session.get(f"{webhook.base_url}/webhooks/rest/") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "body",
    [
        {"message": "xin chào"},
        {"sender": "", "message": "xin chào"},
        {"sender": "   ", "message": "xin chào"},
        {"sender": 12345, "message": "xin chào"},
        {"sender": None, "message": "xin chào"},
        {"sender": "x" * 201, "message": "xin chào"},
        ["sender", "message"],
        "xin chào",
    ],
)
async def test_missing_or_bad_sender_is_rejected(webhook: Webhook, body: Any) -> None:
    status, payload = await webhook.post(body)

    assert status == 400
    assert "sender" in payload["error"]
    assert webhook.agent.received == []


async def test_body_that_is_not_json_is_rejected(webhook: Webhook) -> None:
    status, _ = await webhook.post(data=b"sender=u1&message=hi", headers={"Content-Type": "application/json"})

    assert status == 400
    assert webhook.agent.received == []


async def test_normal_message_returns_the_collected_replies(webhook: Webhook) -> None:
    status, replies = await webhook.post({"sender": "resident-1", "message": "xin chào"})

    assert status == 200
    assert replies == [
        {"recipient_id": "resident-1", "text": "Xin chào anh/chị!", "buttons": BUTTONS, "custom": {"kind": "smalltalk"}},
        {"recipient_id": "resident-1", "text": "Anh/chị cần hỏi thủ tục nào ạ?", "custom": {"kind": "smalltalk"}},
    ]
    [received] = webhook.agent.received
    assert received.text == "xin chào"
    assert received.sender_id == "resident-1"
    assert received.input_channel == "rest"
    assert received.metadata == {}


async def test_a_turn_without_a_reply_still_gets_one(webhook: Webhook) -> None:
    async def silent(message: UserMessage) -> None:
        return None

    webhook.agent.behaviour = silent

    status, replies = await webhook.post({"sender": "resident-1", "message": "ừ"})

    assert status == 200
    assert [(r["text"], r["custom"]["kind"]) for r in replies] == [(NO_REPLY_TEXT, "no_reply")]
    assert replies[0]["buttons"] == [{"title": "Gặp người hỗ trợ", "payload": "/request_human"}]


async def test_personal_data_is_masked_before_rasa_sees_it(webhook: Webhook) -> None:
    status, replies = await webhook.post(
        {"sender": "resident-2", "message": f"CCCD {CCCD}, sđt 0912.345.678, mã otp 123456 sao không vào được"}
    )

    assert status == 200
    [received] = webhook.agent.received
    assert not TWELVE_DIGITS.search(received.text)
    assert not re.search(r"\d{6}", received.text)
    assert received.text == "CCCD [CCCD], sđt [SĐT], mã otp [MÃ] sao không vào được"
    assert received.metadata == {"pii_masked": True, "shared_secret": True}
    assert replies[-1]["text"] == SECRET_WARNING


WARNING_REPLY = {"text": SECRET_WARNING, "custom": {"kind": "warning"}}


@pytest.mark.parametrize("message", ["mã OTP là 483920", "  482913 ", "passcode 1234"])
async def test_a_message_that_is_only_a_code_gets_only_the_warning(webhook: Webhook, message: str) -> None:
    status, replies = await webhook.post({"sender": "resident-5", "message": message})

    assert status == 200
    # not "I did not understand" and a warning together: just the warning
    assert replies == [{"recipient_id": "resident-5", **WARNING_REPLY}]
    [received] = webhook.agent.received
    assert not re.search(r"\d{4}", received.text)
    assert received.metadata["shared_secret"] is True


@pytest.mark.parametrize("message", ["mã xác nhận 4821 nhập sao", "mã OTP 483920 mà vẫn không vào được vneid"])
async def test_shared_secret_adds_one_warning_after_the_dialogue_replies(webhook: Webhook, message: str) -> None:
    status, replies = await webhook.post({"sender": "resident-5", "message": message})

    assert status == 200
    assert replies == [
        {"recipient_id": "resident-5", "text": "Xin chào anh/chị!", "buttons": BUTTONS, "custom": {"kind": "smalltalk"}},
        {"recipient_id": "resident-5", "text": "Anh/chị cần hỏi thủ tục nào ạ?", "custom": {"kind": "smalltalk"}},
        {"recipient_id": "resident-5", **WARNING_REPLY},
    ]
    [received] = webhook.agent.received
    assert not re.search(r"\d{4}", received.text)
    assert received.metadata["shared_secret"] is True


async def test_shared_secret_is_warned_about_even_when_the_dialogue_is_silent(webhook: Webhook) -> None:
    async def silent(message: UserMessage) -> None:
        return None

    webhook.agent.behaviour = silent

    assert await webhook.post({"sender": "resident-6", "message": "otp 123456"}) == (
        200,
        [{"recipient_id": "resident-6", **WARNING_REPLY}],
    )


@pytest.mark.parametrize(
    "message", [f"CCCD {CCCD}", "sđt 0912 345 678", "lệ phí 50.000 đồng", "mã hồ sơ H09-240228-0005"]
)
async def test_personal_data_that_is_not_a_secret_gets_no_warning(webhook: Webhook, message: str) -> None:
    status, replies = await webhook.post({"sender": "resident-7", "message": message})

    assert status == 200
    assert SECRET_WARNING not in [r["text"] for r in replies]
    assert len(replies) == 2


async def test_client_metadata_and_channel_are_passed_on(webhook: Webhook) -> None:
    await webhook.post({"sender": "zalo-9", "message": "hello", "metadata": {"lang": "vi"}, "input_channel": "zalo"})

    [received] = webhook.agent.received
    assert received.input_channel == "zalo"
    assert received.metadata == {"lang": "vi"}


async def test_channel_findings_override_client_metadata(webhook: Webhook) -> None:
    await webhook.post({"sender": "u", "message": 42, "metadata": {"input_problem": None, "x": 1}})

    [received] = webhook.agent.received
    assert received.text == ""
    assert received.metadata == {"input_problem": "non_text", "x": 1}


@pytest.mark.parametrize("extra", [{"metadata": "nope", "input_channel": 7}, {"metadata": ["a"]}])
async def test_malformed_optional_fields_fall_back(webhook: Webhook, extra: dict[str, Any]) -> None:
    await webhook.post({"sender": "u", "message": "hi", **extra})

    [received] = webhook.agent.received
    assert received.metadata == {}
    assert received.input_channel == "rest"


@pytest.mark.parametrize("message", [None, 7, ["a"], {"text": "hi"}])
async def test_non_text_message_reaches_rasa_flagged(webhook: Webhook, message: Any) -> None:
    body: dict[str, Any] = {"sender": "u"}
    if message is not None:
        body["message"] = message

    status, _ = await webhook.post(body)

    assert status == 200
    [received] = webhook.agent.received
    assert received.text == ""
    assert received.metadata["input_problem"] == "non_text"


async def test_failure_inside_rasa_returns_the_busy_reply(webhook: Webhook) -> None:
    async def broken(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "nửa câu trả lời"})
        raise ConnectionError("redis://secret-host:6379 refused the connection")

    webhook.agent.behaviour = broken

    status, replies = await webhook.post({"sender": "resident-3", "message": "hỏi về khai sinh"})

    assert status == 500
    assert replies == [{"recipient_id": "resident-3", "text": BUSY_TEXT, "custom": {"kind": "error"}}]
    assert "secret-host" not in str(replies)


async def test_failure_is_logged(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("boom")

    webhook.agent.behaviour = broken

    await webhook.post({"sender": "resident-3", "message": "hỏi"})

    assert any("resident-3" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_timeout_inside_rasa_returns_busy_with_503(webhook: Webhook) -> None:
    async def cancelled(message: UserMessage) -> None:
        raise asyncio.CancelledError()

    webhook.agent.behaviour = cancelled

    status, replies = await webhook.post({"sender": "resident-4", "message": "hỏi"})

    assert status == 503
    assert replies == [{"recipient_id": "resident-4", "text": BUSY_TEXT, "custom": {"kind": "error"}}]


async def test_webhook_serves_residents_independently(webhook: Webhook) -> None:
    async def echo(message: UserMessage) -> None:
        await asyncio.sleep(0.01)
        await message.output_channel.send_response(message.sender_id, {"text": message.text})

    webhook.agent.behaviour = echo

    results = await asyncio.gather(*(webhook.post({"sender": f"r{i}", "message": f"câu {i}"}) for i in range(10)))

    for i, (status, replies) in enumerate(results):
        assert status == 200
        assert replies == [{"recipient_id": f"r{i}", "text": f"câu {i}", "custom": {}}]


# --- bad input is cleaned, system commands are the system's ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ud800kích hoạt", "kích hoạt"),
        ("kích\udfffhoạt vneid", "kíchhoạt vneid"),
        ("\u202ekích hoạt\u202c", "kích hoạt"),
        ("xin\x00 chào", "xin chào"),
    ],
)
def test_prepare_text_drops_characters_that_break_encoding(raw: str, expected: str) -> None:
    text, _ = prepare_text(raw)

    assert text == expected
    text.encode("utf-8")  # a lone surrogate used to crash the action server here


async def test_a_lone_surrogate_reaches_rasa_cleaned(webhook: Webhook) -> None:
    # JSON may carry a lone surrogate escape; json.loads turns it into a str that cannot be encoded
    status, _ = await webhook.post(data=b'{"sender": "u1", "message": "\\ud800k\\u00edch ho\\u1ea1t"}',
                                   headers={"Content-Type": "application/json"})

    assert status == 200
    [received] = webhook.agent.received
    assert received.text == "kích hoạt"


@pytest.mark.parametrize(
    ("text", "command"),
    [("/rate{\"rating\": \"hai_long\"}", "rate"), ("/handoff_closed", "handoff_closed"), ("/restart", "restart"),
     ("/nav_next@bot", "nav_next"), ("/session_start xyz", "session_start"), ("xin chào", ""), ("", "")],
)
def test_command_of_reads_the_intent_name(text: str, command: str) -> None:
    assert command_of(text) == command


@pytest.mark.parametrize("typed", ["/handoff_closed", "/restart", "/session_start", "/back",
                                   '/handoff_closed{"ticket": "1"}', "  /restart  "])
async def test_a_resident_cannot_trigger_a_system_event(webhook: Webhook, typed: str) -> None:
    status, replies = await webhook.post({"sender": "resident-5", "message": typed})

    assert status == 200
    assert webhook.agent.received == []  # never reaches the dialogue
    [reply] = replies
    assert reply["text"] == COMMAND_REFUSED_TEXT
    assert reply["custom"] == {"kind": "bad_input", "problem": "command"}
    assert reply["buttons"]


async def test_a_gateway_sends_a_system_event_in_its_own_field(webhook: Webhook) -> None:
    status, _ = await webhook.post({"sender": "zalo:1", "system_event": "handoff_closed", "message": "ignored",
                                    "metadata": {"ticket": "7"}})

    assert status == 200
    [received] = webhook.agent.received
    assert received.text == "/handoff_closed"
    assert received.metadata == {"ticket": "7"}


@pytest.mark.parametrize("event", ["restart", "rate", "", 5, ["handoff_closed"]])
async def test_an_unknown_system_event_is_refused(webhook: Webhook, event: Any) -> None:
    status, _ = await webhook.post({"sender": "zalo:1", "system_event": event})

    assert status == 400
    assert webhook.agent.received == []


async def test_a_button_payload_still_reaches_the_dialogue(webhook: Webhook) -> None:
    status, _ = await webhook.post({"sender": "resident-6", "message": '/rate{"rating": "hai_long", "q": "ab12"}'})

    assert status == 200
    [received] = webhook.agent.received
    assert received.text == '/rate{"rating": "hai_long", "q": "ab12"}'


# --- message ids and failures the gateway retries ----------------------------------------------------------------


async def test_a_gateway_message_id_is_passed_on_and_flagged(webhook: Webhook) -> None:
    await webhook.post({"sender": "resident-7", "message": "hỏi", "message_id": "zalo-msg-42"})
    await webhook.post({"sender": "resident-7", "message": "hỏi nữa"})

    first, second = webhook.agent.received
    assert first.message_id == "zalo-msg-42"
    assert first.metadata == {"client_message_id": True}
    assert second.metadata == {}
    assert second.message_id and second.message_id != "zalo-msg-42"  # Rasa's own random id


@pytest.mark.parametrize("bad", ["", "x" * 129, None, True, {"id": 1}])
async def test_an_unusable_message_id_is_ignored(webhook: Webhook, bad: Any) -> None:
    await webhook.post({"sender": "resident-8", "message": "hỏi", "message_id": bad})

    [received] = webhook.agent.received
    assert "client_message_id" not in received.metadata


@pytest.mark.parametrize("error", [TrackerStoreUnavailable("redis away"), ActionServerUnavailable("actions away"),
                                   LockError("lock expired")])
async def test_failures_worth_retrying_answer_busy_with_503(webhook: Webhook, error: Exception) -> None:
    async def failing(message: UserMessage) -> None:
        raise error

    webhook.agent.behaviour = failing

    status, replies = await webhook.post({"sender": "resident-9", "message": "hỏi"})

    assert status == 503
    assert replies == [{"recipient_id": "resident-9", "text": BUSY_TEXT, "custom": {"kind": "error"}}]
