"""A fake of our Rasa REST webhook on 127.0.0.1, for gateway unit tests (the integration tests use real Rasa)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Script = Callable[[str, str], list[dict[str, Any]]]


def echo(sender: str, text: str) -> list[dict[str, Any]]:
    """Default behaviour: one reply naming what was received; "người thật" hands off; buttons on "menu"."""
    if "người thật" in text:
        return [{"text": "Em sẽ chuyển anh/chị tới tình nguyện viên.", "custom": {"kind": "handoff",
                                                                              "topic": "vneid-activate-level2",
                                                                              "reason": "resident_request"}}]
    if text == "/handoff_closed":
        return [{"text": "Trợ lý tự động tiếp tục giúp anh/chị.", "custom": {"kind": "handoff_closed"}},
                {"text": "Anh/chị có hài lòng?", "buttons": [{"title": "Hài lòng", "payload": '/rate{"rating": "hai_long"}'},
                                                         {"title": "Chưa hài lòng",
                                                          "payload": '/rate{"rating": "chua_hai_long"}'}],
                 "custom": {"kind": "rating_question"}}]
    if text == "menu":
        return [{"text": "Anh/chị cần gì?", "buttons": [{"title": "Kích hoạt VNeID", "payload": "/topic_a"},
                                                    {"title": "Nộp hồ sơ", "payload": "/topic_b"}],
                 "custom": {"kind": "menu"}}]
    return [{"text": f"Trả lời: {text}", "custom": {"kind": "answer"}}]


class FakeRasa:
    """Records every request; `down = True` makes it answer 503 like our channel does when Rasa fails."""

    def __init__(self, script: Script = echo) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.down = False
        self.refused: dict[str, int] = {}  # message text → the 4xx status our channel answers it with
        self.delay_s = 0.0  # simulated thinking time (benchmarks)
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}  # per sender: how many of its messages were handled at once
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/webhooks/rest/webhook"))

    async def _webhook(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response([{"text": "busy", "custom": {"kind": "error"}}], status=503)
        body = await request.json()
        if body.get("message") in self.refused:
            return web.json_response({"error": "refused"}, status=self.refused[body["message"]])
        if body.get("system_event"):
            # as our channel does: a gateway's system event becomes the intent, never the resident's text
            body = {**body, "message": f"/{body['system_event']}"}
        self.received.append(body)
        sender = str(body["sender"])
        self._in_flight[sender] = self._in_flight.get(sender, 0) + 1
        self.max_in_flight[sender] = max(self.max_in_flight.get(sender, 0), self._in_flight[sender])
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self._in_flight[sender] -= 1
        replies = self.script(body["sender"], body["message"])
        return web.json_response([{"recipient_id": body["sender"], **r} for r in replies])

    async def __aenter__(self) -> FakeRasa:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def texts(self) -> list[str]:
        return [r["message"] for r in self.received]
