"""The gateways' one way to Rasa: what each answer of the REST webhook becomes (a real local server, no mocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.rasa_client import RasaClient, RasaFailed, RasaRejected, RasaUnavailable


class Rasa:
    """Answers each request with the next (status, body) it was given, and keeps what it received."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.received: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        self.server = TestServer(app, host="127.0.0.1")

    async def webhook(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        status, body = self.answers.pop(0)
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="application/json")
        return web.json_response(body, status=status)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/webhooks/rest/webhook"))


@pytest.fixture
async def rasa() -> AsyncIterator[Rasa]:
    fake = Rasa()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


async def test_replies_come_back_with_what_the_request_carried(rasa: Rasa) -> None:
    rasa.answers = [(200, [{"recipient_id": "web:a", "text": "Chào anh/chị", "custom": {"kind": "smalltalk"}},
                           "not a reply"])]
    client = RasaClient(rasa.url)
    (reply,) = await client.send("web:a", "xin chào", "web", {"shared_secret": True}, message_id="m1",
                                 system_event="handoff_closed")
    await client.aclose()
    assert (reply.text, reply.kind, reply.reply_to) == ("Chào anh/chị", "smalltalk", "m1")
    assert rasa.received == [{"sender": "web:a", "message": "xin chào", "input_channel": "web",
                              "metadata": {"shared_secret": True}, "message_id": "m1",
                              "system_event": "handoff_closed"}]


@pytest.mark.parametrize(
    ("status", "body", "error", "meaning"),
    [
        (500, [{"text": "busy"}], RasaFailed, "Rasa failed on this message: retried a few times, then set aside"),
        (503, [{"text": "busy"}], RasaUnavailable, "an outage: held and retried"),
        (502, "<html>", RasaUnavailable, "the load balancer has no Rasa: held and retried"),
        (400, {"error": "bad"}, RasaRejected, "this message is refused: set aside at once"),
        (413, {"error": "big"}, RasaRejected, "this message is refused: set aside at once"),
        (200, "not json", RasaUnavailable, "a broken answer is not taken as no reply"),
        (200, {"text": "x"}, RasaUnavailable, "a broken answer is not taken as no reply"),
    ],
)
async def test_each_failure_means_what_the_relay_needs(rasa: Rasa, status: int, body: Any,
                                                       error: type[Exception], meaning: str) -> None:
    rasa.answers = [(status, body)]
    client = RasaClient(rasa.url)
    with pytest.raises(error) as caught:
        await client.send("web:a", "hỏi", "web")
    await client.aclose()
    assert type(caught.value) is error, meaning


async def test_an_unreachable_rasa_is_unavailable() -> None:
    client = RasaClient("http://127.0.0.1:9/webhooks/rest/webhook", timeout_s=1)
    with pytest.raises(RasaUnavailable, match="unreachable"):
        await client.send("web:a", "hỏi", "web")
    await client.aclose()
