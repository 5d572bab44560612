"""A fake Zalo Bot Platform API on 127.0.0.1: the real `zalo_bot.Bot` is pointed at it with `base_url`.

It answers like bot-api.zaloplatforms.com (`POST /bot<token>/<method>`, `{"ok": true, "result": ...}`), records what the bot
sends, serves queued updates to `getUpdates` one at a time, and can be told to fail the next sends. The update
factories below build the payloads Zalo posts to a webhook, in the shape the platform documents.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123:TEST"
_ids = itertools.count(1)


def message_id() -> str:
    """A fresh id shaped like Zalo's (hex)."""
    return uuid.uuid4().hex


def make_update(event_name: str, chat_id: str, *, msg_id: str | None = None, user_id: str | None = None,
                display_name: str = "Nguyễn Văn A", **fields: Any) -> dict[str, Any]:
    """One update as Zalo sends it: `event_name` plus a message with sender, chat, id and date in milliseconds."""
    return {
        "event_name": event_name,
        "message": {
            "from": {"id": user_id or chat_id, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": "PRIVATE"},
            "message_id": msg_id or message_id(),
            "date": int(time.time() * 1000),
            **fields,
        },
    }


def text_update(chat_id: str, text: str, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return make_update("message.text.received", chat_id, msg_id=msg_id, text=text, **kw)


def image_update(chat_id: str, msg_id: str | None = None, caption: str = "", **kw: Any) -> dict[str, Any]:
    return make_update("message.image.received", chat_id, msg_id=msg_id, caption=caption,
                       photo_url="https://example.invalid/photo.jpg", **kw)


def sticker_update(chat_id: str, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return make_update("message.sticker.received", chat_id, msg_id=msg_id, sticker="bfe458bf64fa8da4d4eb",
                       url="https://example.invalid/sticker.png", **kw)


def voice_update(chat_id: str, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return make_update("message.voice.received", chat_id, msg_id=msg_id, url="https://example.invalid/voice.aac",
                       **kw)


def file_update(chat_id: str, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    return make_update("message.file.received", chat_id, msg_id=msg_id, url="https://example.invalid/to-khai.pdf",
                       **kw)


def webhook_body(update: dict[str, Any]) -> dict[str, Any]:
    """What Zalo POSTs to a webhook: the update wrapped like an API answer."""
    return {"ok": True, "result": update}


class FakeZaloBot:
    """The fake API. `sent` holds every sendMessage as {chat_id, text}; `calls` every method name called."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.sent: list[dict[str, str]] = []
        self.calls: list[str] = []
        self.actions: list[dict[str, str]] = []
        self.webhook: dict[str, str] = {}
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._failures: list[tuple[int, dict[str, Any]]] = []
        self._sent_event = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        """What to pass as `zalo_bot.Bot(token, base_url)`."""
        return str(self.server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeZaloBot:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    # -- controlling the fake ------------------------------------------------------------------------------------
    def fail_next(self, times: int, status: int = 500) -> None:
        """The next `times` sendMessage calls answer HTTP `status` (500: server error)."""
        body = {"ok": False, "error_code": status, "description": "Internal Server Error"}
        self._failures.extend([(status, body)] * times)

    def rate_limit_next(self, times: int, retry_after: int = 1) -> None:
        """The next `times` sendMessage calls answer 429 with `retry_after` seconds."""
        body = {"ok": False, "error_code": 429, "description": "Too many requests",
                "parameters": {"retry_after": retry_after}}
        self._failures.extend([(429, body)] * times)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self.updates.put_nowait(update)

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [m["text"] for m in self.sent if chat_id is None or m["chat_id"] == chat_id]

    async def wait_sent(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        """Wait until at least `count` messages were sent (the gateway answers in background tasks)."""
        async def enough() -> None:
            while len(self.sent) < count:
                self._sent_event.clear()
                await self._sent_event.wait()

        try:
            await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"expected {count} sent messages within {timeout}s, got {self.sent!r}") from None
        return self.sent

    # -- the API ---------------------------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        self.calls.append(method)
        params = await _params(request)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return await handler(params)

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok({"id": "5f1b2c3d4e", "account_name": "bot.tro_ly_dich_vu_cong", "account_type": "BASIC",
                    "can_join_groups": False, "display_name": "Trợ lý dịch vụ công"})

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        if self._failures:
            status, body = self._failures.pop(0)
            return web.json_response(body, status=status)
        chat_id, text = str(params.get("chat_id") or ""), str(params.get("text") or "")
        if not chat_id or not text:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request"}, status=400)
        if len(text) > 2000:
            return web.json_response({"ok": False, "error_code": 400, "description": "Text too long"}, status=400)
        self.sent.append({"chat_id": chat_id, "text": text})
        self._sent_event.set()
        return _ok({"message_id": f"out{next(_ids)}", "date": int(time.time() * 1000)})

    async def _m_sendChatAction(self, params: dict[str, Any]) -> web.Response:
        self.actions.append({"chat_id": str(params.get("chat_id")), "action": str(params.get("action"))})
        return _ok(True)

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        timeout = float(params.get("timeout") or 0)
        try:
            update = self.updates.get_nowait() if timeout <= 0 else await asyncio.wait_for(self.updates.get(),
                                                                                               timeout)
        except (asyncio.QueueEmpty, asyncio.TimeoutError):
            return _ok({})
        return _ok(update)

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        url = str(params.get("url") or "")
        if not url.startswith("https://") or not params.get("secret_token"):
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request"}, status=400)
        self.webhook = {"url": url, "secret_token": str(params["secret_token"]),
                        "updated_at": str(int(time.time() * 1000))}
        return _ok({"url": url, "updated_at": self.webhook["updated_at"]})

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return _ok({"url": "", "updated_at": str(int(time.time() * 1000))})

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        return _ok({"url": self.webhook.get("url", ""), "updated_at": self.webhook.get("updated_at", "")})


async def _params(request: web.Request) -> dict[str, Any]:
    """The SDK sends form fields; other clients send JSON. Accept both."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(await request.post())


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
